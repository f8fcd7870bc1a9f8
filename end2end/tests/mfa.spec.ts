// Two-step sign-in in the browser, in both modes: an authenticator app
// (codes computed here from the secret the page shows) is set up from the
// security page, sign-in asks for its code, a code is not accepted twice,
// and a recovery code works once.

import { expect, test } from "./fixtures";
import { enableTotp, nav, register, signIn, signedInMarker, totp, uniqueEmail } from "./helpers";

test("an authenticator app makes sign-in two steps; a recovery code works once", async ({ page }) => {
  const email = uniqueEmail("totp");
  await register(page, email);
  const { secret, codes, usedCode } = await enableTotp(page);

  const signOut = async () => {
    await nav(page).getByRole("button", { name: "Sign out" }).click();
    await expect(page).toHaveURL(/\/login$/);
  };
  await signOut();
  await signIn(page, email);
  await expect(page.getByLabel("Authentication code")).toBeVisible();
  await expect(signedInMarker(page)).toHaveCount(0);
  // The code that turned the app on was used: refused, and the step stays.
  await page.getByLabel("Authentication code").fill(usedCode);
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page.getByRole("alert")).toContainText("That code is not right");
  // The next step's code (the app shows it within 30 s) signs in.
  await page.getByLabel("Authentication code").fill(totp(secret, 1));
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page).toHaveURL(/\/account$/);
  await expect(signedInMarker(page)).toBeVisible();

  await signOut();
  await signIn(page, email);
  await page.getByLabel("Authentication code").fill(codes[0]);
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page).toHaveURL(/\/account$/);
  await page.goto("/security");
  await expect(page.getByTestId("mfa-state")).toContainText("9 recovery codes left");

  await signOut();
  await signIn(page, email);
  await page.getByLabel("Authentication code").fill(codes[0]);
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page.getByRole("alert")).toContainText("That code is not right");
  await expect(signedInMarker(page)).toHaveCount(0);
});
