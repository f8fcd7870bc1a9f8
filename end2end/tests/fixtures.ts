import { test as base, expect, Page } from "@playwright/test";

/**
 * A page that fails its test on any console error or uncaught exception:
 * a CSP violation, a 404 for an asset or a hydration panic all show up
 * there and nowhere else.
 */
export const test = base.extend<{ page: Page; allowedConsoleErrors: RegExp[] }>({
  // A test that expects a particular error (the 404 of a missing page) lists it.
  allowedConsoleErrors: [[], { option: true }],
  page: async ({ page, allowedConsoleErrors }, use) => {
    const problems: string[] = [];
    page.on("console", (msg) => {
      if (msg.type() !== "error") return;
      if (allowedConsoleErrors.some((re) => re.test(msg.text()))) return;
      problems.push(`console: ${msg.text()}`);
    });
    page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
    await use(page);
    expect(problems, "the browser reported errors").toEqual([]);
  },
});

export { expect };

/** Waits until the WASM app has taken over the server-rendered page. */
export async function hydrated(page: Page) {
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
}
