// Each page as a user sees it (with a screenshot under end2end/screenshots/),
// keyboard use, and what happens when the network fails.

import { test, expect, hydrated } from "./fixtures";
import { PASSWORD, ROUTES, countRefreshes, nav, register, screenshot, signedInMarker, uniqueEmail } from "./helpers";

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

test("how it works: the mode, this tab's credential, the refresh history and the hidden cookie", async ({
  page,
  authMode,
}) => {
  await register(page, uniqueEmail("how"));
  await page.reload();
  await expect(signedInMarker(page)).toBeVisible();
  await nav(page).getByRole("link", { name: "How it works" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("How it works");
  await expect(page.getByTestId("auth-mode")).toHaveText(authMode);
  await expect(page.getByTestId("access-check")).toHaveText("revocation-cache");
  if (authMode === "jwt") {
    await expect(page.locator("pre.code").first()).toContainText('"typ": "at+jwt"');
    await expect(page.locator("pre.code").nth(1)).toContainText('"sid"');
    await expect(page.locator("pre.code").nth(1)).not.toContainText("@example.com");
    const countdown = page.getByTestId("token-countdown");
    const first = await countdown.textContent();
    await expect(countdown).not.toHaveText(first ?? "", { timeout: 3_000 });
    await expect(page.getByTestId("refresh-history")).toContainText("renewed by this tab (page load)");
  } else {
    await expect(page.getByRole("heading", { name: "Your session" })).toBeVisible();
    await expect(page.getByTestId("csrf-prefix")).toHaveText(/^[A-Za-z0-9_-]{6}…$/);
    await expect(page.getByTestId("token-countdown")).toHaveCount(0);
  }
  await expect(page.getByTestId("document-cookie")).toHaveText('document.cookie === ""');
  await screenshot(page, `how-it-works-${authMode}`);
});

test("how it works: revoking this session from the page, the old credential is refused at once", async ({
  page,
}) => {
  await register(page, uniqueEmail("demo"));
  await page.goto("/how-it-works");
  await expect(signedInMarker(page)).toBeVisible();
  await page.getByRole("button", { name: "Revoke this session and watch" }).click();
  // revocation-cache (the default) and session cookies: the next request is refused.
  await expect(page.getByTestId("demo-summary")).toHaveText(/^Refused \d+ ms after the revocation\.$/);
  await expect(page.getByTestId("demo-probes").locator("li")).toHaveCount(1);
  await expect(page.getByTestId("demo-probes")).toContainText("401 — refused");
  await page.getByRole("button", { name: "Sign in again" }).click();
  await expect(page).toHaveURL(/\/login\?next=\/how-it-works$/);
  // The session really is over: a reload does not bring it back.
  await page.goto("/account");
  await expect(page).toHaveURL(/\/login\?next=\/account$/);
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

  test("a failed start-up refresh offers a retry that works", async ({ page, authMode }) => {
    const renew = `**${ROUTES[authMode].renew.path}`;
    await register(page, uniqueEmail("net"));
    await page.route(renew, (route) => route.abort());
    await page.reload();
    await expect(page.getByRole("heading", { name: "We couldn't confirm your sign-in" })).toBeVisible();
    await expect(page.getByText("Can't reach Latchkey")).toBeVisible();
    await screenshot(page, "unreachable");
    await page.unroute(renew);
    await page.getByRole("button", { name: "Try again" }).click();
    await expect(signedInMarker(page)).toBeVisible();
  });

  test("a sign-out that fails says so, keeps the session, and can be tried again", async ({ page, authMode }) => {
    const logout = authMode === "session" ? "**/api/session/logout" : "**/api/auth/logout";
    await register(page, uniqueEmail("netout"));
    await page.route(logout, (route) => route.abort());
    await nav(page).getByRole("button", { name: "Sign out" }).click();
    // Never "signed out" while the session lives on the server.
    await expect(page.getByTestId("sign-out-failed")).toContainText("Not signed out");
    await expect(signedInMarker(page)).toBeVisible();
    await page.unroute(logout);
    await nav(page).getByRole("button", { name: "Try signing out again" }).click();
    await expect(page).toHaveURL(/\/login$/);
    await expect(page.getByText("You have signed out.")).toBeVisible();
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

test("a call refused with 401 invalid_token renews the credential once and is retried, unseen", async ({
  page,
  context,
  authMode,
}) => {
  await register(page, uniqueEmail("retry"));
  const refreshes = countRefreshes(context, authMode);
  let refused = 0;
  const authorizations: string[] = [];
  const csrfTokens: string[] = [];
  await page.route("**/api/me", async (route) => {
    authorizations.push(route.request().headers()["authorization"] ?? "");
    csrfTokens.push(route.request().headers()["x-csrf-token"] ?? "");
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
  if (authMode === "jwt") {
    expect(authorizations[0]).not.toEqual(authorizations[1]);
    expect(authorizations[1]).toMatch(/^Bearer ey/);
  } else {
    // Session mode sends no Authorization header; the cookie and the CSRF token do the work.
    expect(authorizations).toEqual(["", ""]);
    expect(csrfTokens[1]).toMatch(/^[A-Za-z0-9_-]{43}$/);
  }
});
