// Sessions across tabs and browsers: signing out everywhere it should,
// revocation from elsewhere, password changes.

import { Browser, Page } from "@playwright/test";
import { test, expect, hydrated } from "./fixtures";
import { OTHER_PASSWORD, PASSWORD, mailedLink, nav, register, signIn, signedInMarker, uniqueEmail } from "./helpers";

async function secondBrowser(browser: Browser, guard: (p: Page) => Page) {
  const context = await browser.newContext();
  return guard(await context.newPage());
}

test("signing out in one tab puts the other tab on the sign-in page", async ({ page, context, guard }) => {
  await register(page, uniqueEmail("tabs"));
  const other = guard(await context.newPage());
  await other.goto("/security");
  await expect(signedInMarker(other)).toBeVisible();

  await nav(page).getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  const started = Date.now();
  await expect(other).toHaveURL(/\/login/, { timeout: 5_000 });
  console.log(`MEASURE sign-out reached the other tab in ${Date.now() - started} ms`);
  await expect(other.getByText("You have signed out.")).toBeVisible();
  await expect(nav(other).getByRole("link", { name: "Sign in" })).toBeVisible();

  // And it stays signed out on reload: the session is over on the server.
  await other.goto("/account");
  await expect(other).toHaveURL(/\/login\?next=\/account$/);
});

test("revoking a session from another browser signs the first one out", async ({ page, browser, guard }) => {
  const email = uniqueEmail("revoke");
  await register(page, email);

  const laptop = await secondBrowser(browser, guard);
  await signIn(laptop, email);
  await expect(laptop).toHaveURL(/\/account$/);
  await laptop.goto("/security");
  const others = laptop.locator(".session:not(.current)");
  await expect(others).toHaveCount(1);
  await expect(laptop.locator(".session.current")).toContainText("This browser");
  await others.getByRole("button", { name: /^Sign out/ }).click();
  await expect(laptop.getByText("That session has been signed out.")).toBeVisible();
  await expect(others).toHaveCount(0);

  // The first browser finds out on its next call: a page that loads data.
  await nav(page).getByRole("link", { name: "Security" }).click();
  await expect(page).toHaveURL(/\/login\?next=\/security$/);
  await expect(page.getByRole("alert")).toContainText("Your session was ended");
  await laptop.context().close();
});

test("a password change signs the other browser out, not this one", async ({ page, browser, guard }) => {
  const email = uniqueEmail("pw");
  await register(page, email);
  const phone = await secondBrowser(browser, guard);
  await signIn(phone, email);
  await expect(signedInMarker(phone)).toBeVisible();

  await page.goto("/security");
  await hydrated(page);
  await page.getByLabel("Current password").fill("this is not my password");
  await page.getByLabel("New password").fill(OTHER_PASSWORD);
  await page.getByRole("button", { name: "Change password" }).click();
  await expect(page.getByText("Current password is not your current password.")).toBeVisible();

  await page.getByLabel("Current password").fill(PASSWORD);
  await page.getByLabel("New password").fill(OTHER_PASSWORD);
  await page.getByRole("button", { name: "Change password" }).click();
  await expect(page.getByText("Password changed. Every other session has been signed out.")).toBeVisible();
  await expect(page.locator(".session")).toHaveCount(1);
  await expect(page.locator(".session.current")).toHaveCount(1);

  await nav(phone).getByRole("link", { name: "Security" }).click();
  await expect(phone).toHaveURL(/\/login\?next=\/security$/);
  await expect(phone.getByRole("alert")).toContainText("Your session was ended");

  // This browser carries on, and the new password works.
  await page.reload();
  await expect(signedInMarker(page)).toBeVisible();
  await signIn(phone, email, OTHER_PASSWORD);
  await expect(phone).toHaveURL(/\/account$/);
  await phone.context().close();
});

test("sign out everywhere ends every session, this one included", async ({ page, browser, guard }) => {
  const email = uniqueEmail("all");
  await register(page, email);
  const tablet = await secondBrowser(browser, guard);
  await signIn(tablet, email);
  await expect(signedInMarker(tablet)).toBeVisible();

  await page.goto("/security");
  await page.getByRole("button", { name: "Sign out everywhere" }).click();
  await page.getByRole("button", { name: "Yes, sign out everywhere" }).click();
  await expect(page).toHaveURL(/\/login/);

  await tablet.reload();
  await expect(tablet).toHaveURL(/\/login\?next=\/account$/);
  await tablet.context().close();
});

test("a forgotten password: a mailed link, a new password, signed in here and out everywhere else", async ({
  page,
  browser,
  guard,
}) => {
  const email = uniqueEmail("reset");
  await register(page, email);
  const laptop = await secondBrowser(browser, guard);
  await signIn(laptop, email);
  await expect(signedInMarker(laptop)).toBeVisible();

  // This browser forgot the password.
  await nav(page).getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.getByRole("link", { name: "Forgot your password?" }).click();
  await page.getByLabel("Email").fill(email);
  await page.getByRole("button", { name: "Mail me a link" }).click();
  await expect(page.getByRole("status")).toContainText("is on its way");
  const link = await mailedLink(email, /Reset your password/);
  await page.goto(link);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Choose a new password");
  // Once the page is live, the token leaves the address bar (and history).
  await expect(page).not.toHaveURL(/token/);
  await page.getByLabel("New password").fill(OTHER_PASSWORD);
  await page.getByRole("button", { name: "Set password and sign in" }).click();
  await expect(page).toHaveURL(/\/account$/);
  await expect(signedInMarker(page)).toBeVisible();

  // The other browser's session ended with the reset.
  await nav(laptop).getByRole("link", { name: "Security" }).click();
  await expect(laptop).toHaveURL(/\/login\?next=\/security$/);
  await expect(laptop.getByRole("alert")).toContainText("Your session was ended");
  await laptop.context().close();
});
