// Step-up in the browser: on this server a sign-in counts as recent for a
// few seconds only (LATCHKEY_REAUTH_SECS), so sensitive actions soon answer
// `reauth_required`; the form asks for the password (and, once the account
// has an authenticator app, a code) and then goes through without being
// submitted again by hand. The test waits real seconds: the server's clock
// is its own.

import { SHORT_REAUTH_SECS } from "../settings";
import { expect, hydrated, test } from "./fixtures";
import { PASSWORD, createAdmin, register, signIn, totp, uniqueEmail } from "./helpers";

const STALE_MS = SHORT_REAUTH_SECS * 1000 + 500;

test("a stale sign-in is asked to confirm, then the action goes through", async ({ page }) => {
  const email = uniqueEmail("stepup");
  await register(page, email);
  await page.goto("/security");
  await hydrated(page);
  await page.waitForTimeout(STALE_MS);

  // No second factor yet: the password confirms.
  await page.getByRole("button", { name: "Set up an authenticator app" }).click();
  await expect(page.getByText("This needs a recent sign-in")).toBeVisible();
  await page.getByLabel("Your password").fill(PASSWORD);
  await page.getByRole("button", { name: "Confirm and continue" }).click();
  const secret = (await page.getByTestId("totp-secret").textContent())!.trim();
  await page.getByLabel("Code from the app").fill(totp(secret));
  await page.getByRole("button", { name: "Turn on" }).click();
  await expect(page.getByTestId("recovery-codes").locator("li")).toHaveCount(10);
  await page.getByRole("button", { name: "I have saved them" }).click();

  // With the app, the password alone is not enough.
  await page.waitForTimeout(STALE_MS);
  await page.getByRole("button", { name: "New recovery codes" }).click();
  await expect(page.getByText("This needs a recent sign-in")).toBeVisible();
  await page.getByLabel("Your password").fill(PASSWORD);
  await page.getByRole("button", { name: "Confirm and continue" }).click();
  await expect(page.getByText("Enter the code from your authenticator app")).toBeVisible();
  await page.getByLabel("Your password").fill(PASSWORD);
  await page.getByLabel("Authentication code (if you use an authenticator app)").fill(totp(secret, 1));
  await page.getByRole("button", { name: "Confirm and continue" }).click();
  await expect(page.getByTestId("recovery-codes").locator("li")).toHaveCount(10);
});

test("an administrator's stale sign-in is asked to confirm before a role change, then it is made", async ({
  page,
  browser,
}) => {
  const adminEmail = uniqueEmail("stale-admin");
  createAdmin("short-ttl", adminEmail);
  const memberEmail = uniqueEmail("promoted");
  const member = await (await browser.newContext()).newPage();
  await register(member, memberEmail);
  await member.context().close();

  await signIn(page, adminEmail);
  await expect(page).toHaveURL(/\/account$/);
  await page.goto("/admin/users");
  await hydrated(page);
  await page.getByLabel("Search by email or name").fill(memberEmail);
  await page.getByRole("button", { name: "Search" }).click();
  const row = page.locator(`tr[data-email="${memberEmail}"]`);
  await expect(row).toBeVisible();
  await page.waitForTimeout(STALE_MS);

  await row.getByRole("button", { name: "Make admin", exact: true }).click();
  await row.getByRole("button", { name: "Yes, make admin" }).click();
  await expect(row.getByText("This needs a recent sign-in")).toBeVisible();
  await row.getByLabel("Your password").fill(PASSWORD);
  await row.getByRole("button", { name: "Confirm and continue" }).click();
  await expect(page.getByText(`${memberEmail} is now an administrator.`)).toBeVisible();
});
