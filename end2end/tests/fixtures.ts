import { test as base, expect, Page } from "@playwright/test";

/**
 * Pages that fail their test on any console error or uncaught exception:
 * a CSP violation, a 404 for an asset or a hydration panic all show up
 * there and nowhere else. `page` is guarded; a test that opens more pages
 * or contexts passes each to `guard`.
 *
 * One kind of console error is not a problem: Chromium logs every 4xx
 * answer from the API ("Failed to load resource … 401") even though the
 * app expects and handles it — a wrong password, a revoked session, a
 * stale cookie. (A signed-out visitor's first load logs nothing at all:
 * with no cookie to renew, the server answers 204; shell.spec.ts checks.)
 * The tests assert what the user sees for those; a failing asset or page
 * load still fails the test.
 */
/** Which credential the server under test gives the browser app (LATCHKEY_AUTH_MODE). */
export type AuthMode = "jwt" | "session";

export const test = base.extend<{
  authMode: AuthMode;
  page: Page;
  allowedConsoleErrors: RegExp[];
  guard: (page: Page) => Page;
  problems: string[];
}>({
  // Set per project: the same tests run against a JWT-mode and a session-mode server.
  authMode: ["jwt", { option: true }],
  // A test that expects a particular error (the 404 of a missing page) lists it.
  allowedConsoleErrors: [[], { option: true }],
  problems: async ({}, use) => {
    const problems: string[] = [];
    await use(problems);
    expect(problems, "the browser reported errors").toEqual([]);
  },
  guard: async ({ allowedConsoleErrors, problems }, use) => {
    await use((page: Page) => {
      page.on("console", (msg) => {
        if (msg.type() !== "error") return;
        if (isHandledApiAnswer(msg.text(), msg.location().url)) return;
        if (allowedConsoleErrors.some((re) => re.test(msg.text()))) return;
        problems.push(`console: ${msg.text()}`);
      });
      page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
      return page;
    });
  },
  page: async ({ page, guard }, use) => {
    await use(guard(page));
  },
});

export { expect };

function isHandledApiAnswer(text: string, url: string): boolean {
  return (
    /^Failed to load resource: the server responded with a status of 4\d\d/.test(text) &&
    new URL(url, "http://x").pathname.startsWith("/api/")
  );
}

/** Waits until the WASM app has taken over the server-rendered page. */
export async function hydrated(page: Page) {
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
}
