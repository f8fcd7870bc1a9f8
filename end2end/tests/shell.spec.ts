import { test, expect, hydrated } from "./fixtures";

test("the home page hydrates and navigates on the client", async ({ page }) => {
  await page.goto("/");
  await expect(page.getByRole("heading", { level: 1 })).toContainText("Sign in once");
  await hydrated(page);

  // A marker on window survives client-side navigation, not a page load.
  await page.evaluate(() => ((window as any).__latchkeyMarker = "still here"));
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Sign in");
  expect(await page.evaluate(() => (window as any).__latchkeyMarker)).toBe("still here");

  await page.getByRole("link", { name: "Create an account" }).first().click();
  await expect(page).toHaveURL(/\/register$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Create an account");
  expect(await page.evaluate(() => (window as any).__latchkeyMarker)).toBe("still here");
});

test.describe("not found", () => {
  test.use({ allowedConsoleErrors: [/status of 404/] });

  test("an unknown page shows the app's own not-found page with a 404", async ({ page }) => {
    const response = await page.goto("/no/such/page");
    expect(response?.status()).toBe(404);
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("Page not found");
    await hydrated(page);
  });
});

test("a first visit, signed out, logs nothing at all in the console", async ({ page }) => {
  // Stricter than the guard: not even an API answer the app handles.
  const logged: string[] = [];
  page.on("console", (msg) => {
    if (msg.type() === "error" || msg.type() === "warning") logged.push(msg.text());
  });
  await page.goto("/");
  await hydrated(page);
  // The start-up check has answered: the signed-out links are showing.
  await expect(page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Sign in" })).toBeVisible();
  await page.goto("/login");
  await hydrated(page);
  await expect(page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Sign in" })).toBeVisible();
  expect(logged).toEqual([]);
});

test("a first visit caches the app's hashed files for a year and revalidates the page", async ({ page }) => {
  const files: { url: string; cacheControl: string; bytes: number }[] = [];
  page.on("response", async (response) => {
    if (new URL(response.url()).pathname.startsWith("/pkg/")) {
      const headers = await response.allHeaders();
      files.push({
        url: response.url(),
        cacheControl: headers["cache-control"] ?? "",
        bytes: Number(headers["content-length"] ?? 0),
      });
    }
  });
  const document = await page.goto("/");
  expect(document?.headers()["cache-control"]).toBe("no-cache");
  await hydrated(page);
  // The WASM, its JS and the CSS, each by a name that carries its hash (a
  // split release build adds the loader of its chunks; the home page needs
  // none of the chunks themselves).
  const kinds = files.map((f) => f.url.split(".").pop());
  expect(kinds).toEqual(expect.arrayContaining(["wasm", "js", "css"]));
  for (const file of files) {
    expect(file.url).toMatch(/\/pkg\/(latchkey|__wasm_split)\.[A-Za-z0-9_-]{8,}\.(wasm|js|css)$/);
    expect(file.cacheControl).toBe("public, max-age=31536000, immutable");
  }
  const wasm = files.filter((f) => f.url.endsWith(".wasm")).reduce((sum, f) => sum + f.bytes, 0);
  console.log(`MEASURE first-visit wasm=${wasm} bytes on the wire (this build's encoding)`);
});
