// Step-up in the browser: on this server a sign-in counts as recent for a
// few seconds only (LATCHKEY_REAUTH_SECS), so sensitive actions soon answer
// `reauth_required`; the form asks for the password (and, once the account
// has an authenticator app, a code) and then goes through without being
// submitted again by hand. The test waits real seconds: the server's clock
// is its own.

import { SHORT_REAUTH_SECS } from "../settings";
import { expect, hydrated, test } from "./fixtures";
import { PASSWORD, register, totp, uniqueEmail } from "./helpers";

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
