// Each page as a user sees it (with a screenshot under end2end/screenshots/),
// keyboard use, and what happens when the network fails.

import { test, expect, hydrated } from "./fixtures";
import { PASSWORD, countRefreshes, nav, register, screenshot, signedInMarker, uniqueEmail } from "./helpers";

test("public pages: home, sign in, create account", async ({ page }) => {
  await page.goto("/");
  await hydrated(page);
  await expect(nav(page).getByRole("link", { name: "Create account" })).toBeVisible();
  await screenshot(page, "home");
  await page.goto("/login");
  await hydrated(page);
  await screenshot(page, "login");
  await page.goto("/register");
  await hydrated(page);
  await screenshot(page, "register");
});

test("account: the profile, and the display name can be changed", async ({ page }) => {
  const email = uniqueEmail("acct");
  await register(page, email);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Your account");
  await page.getByRole("textbox", { name: "Display name" }).fill("Grace Hopper");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByText("Saved.")).toBeVisible();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Hello, Grace Hopper");
  await screenshot(page, "account");
  await page.setViewportSize({ width: 390, height: 844 });
  await screenshot(page, "account-phone");

  await page.getByRole("textbox", { name: "Display name" }).fill("x".repeat(65));
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.locator(".field-error")).toContainText(/^Display name /);
});

test("security: sessions listed with this browser marked", async ({ page }) => {
  await register(page, uniqueEmail("sec"));
  await nav(page).getByRole("link", { name: "Security" }).click();
  await expect(page.locator(".session.current")).toContainText("This browser");
  await expect(page.locator(".session.current")).toContainText("Chrome");
  await screenshot(page, "security");
});

test("how it works: the decoded token, its countdown, the refresh history and the hidden cookie", async ({ page }) => {
  await register(page, uniqueEmail("how"));
  await page.reload();
  await expect(signedInMarker(page)).toBeVisible();
  await nav(page).getByRole("link", { name: "How it works" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("How it works");
  await expect(page.locator("pre.code").first()).toContainText('"typ": "at+jwt"');
  await expect(page.locator("pre.code").nth(1)).toContainText('"sid"');
  await expect(page.locator("pre.code").nth(1)).not.toContainText("@example.com");
  const countdown = page.getByTestId("token-countdown");
  const first = await countdown.textContent();
  await expect(countdown).not.toHaveText(first ?? "", { timeout: 3_000 });
  await expect(page.getByTestId("refresh-history")).toContainText("renewed by this tab (page load)");
  await expect(page.getByTestId("document-cookie")).toHaveText('document.cookie === ""');
  await screenshot(page, "how-it-works");
});

test("keyboard only: sign in with Tab and Enter", async ({ page }) => {
  const email = uniqueEmail("keys");
  await register(page, email);
  await nav(page).getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.getByLabel("Email").focus();
  await page.keyboard.type(email);
  await page.keyboard.press("Tab");
  await expect(page.getByLabel("Password")).toBeFocused();
  await page.keyboard.type(PASSWORD);
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/account$/);
});

test.describe("network failure", () => {
  test.use({ allowedConsoleErrors: [/net::ERR_FAILED/] });

  test("a failed start-up refresh offers a retry that works", async ({ page }) => {
    await register(page, uniqueEmail("net"));
    await page.route("**/api/auth/refresh", (route) => route.abort());
    await page.reload();
    await expect(page.getByRole("heading", { name: "We couldn't confirm your sign-in" })).toBeVisible();
    await expect(page.getByText("Can't reach Latchkey")).toBeVisible();
    await screenshot(page, "unreachable");
    await page.unroute("**/api/auth/refresh");
    await page.getByRole("button", { name: "Try again" }).click();
    await expect(signedInMarker(page)).toBeVisible();
  });

  test("a failed form submission says so and can be sent again", async ({ page }) => {
    const email = uniqueEmail("netform");
    await register(page, email);
    await page.route("**/api/me", (route) => route.abort());
    await page.getByRole("textbox", { name: "Display name" }).fill("Offline");
    await page.getByRole("button", { name: "Save" }).click();
    await expect(page.getByRole("alert")).toHaveText("Can't reach Latchkey. Check your connection and try again.");
    await page.unroute("**/api/me");
    await page.getByRole("button", { name: "Save" }).click();
    await expect(page.getByText("Saved.")).toBeVisible();
  });
});

test("a call refused with 401 invalid_token renews the token once and is retried, unseen", async ({ page, context }) => {
  await register(page, uniqueEmail("retry"));
  const refreshes = countRefreshes(context);
  let refused = 0;
  const authorizations: string[] = [];
  await page.route("**/api/me", async (route) => {
    authorizations.push(route.request().headers()["authorization"] ?? "");
    if (refused++ === 0) {
      await route.fulfill({
        status: 401,
        contentType: "application/json",
        headers: { "WWW-Authenticate": 'Bearer error="invalid_token"' },
        body: JSON.stringify({ error: "invalid_token", message: "The access token is not valid." }),
      });
    } else {
      await route.continue();
    }
  });
  await page.getByRole("textbox", { name: "Display name" }).fill("Retried");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByText("Saved.")).toBeVisible();
  await expect(page.getByRole("alert")).toHaveCount(0);
  expect(refreshes.count).toBe(1);
  expect(authorizations).toHaveLength(2);
  expect(authorizations[0]).not.toEqual(authorizations[1]);
  expect(authorizations[1]).toMatch(/^Bearer ey/);
});
