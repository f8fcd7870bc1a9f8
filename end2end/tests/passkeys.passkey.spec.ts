// Passkeys in the browser, in both modes, with Chromium's virtual
// authenticator (CDP WebAuthn: CTAP2, built-in, resident keys, user
// verification): one is added from the security page, signs in with no
// address typed, answers the second step of a password sign-in, and once
// removed a password alone signs in again. These servers are reached as
// localhost: a WebAuthn relying party needs a domain name.

import type { CDPSession, Page } from "@playwright/test";
import { expect, hydrated, test } from "./fixtures";
import { nav, register, signIn, signedInMarker, uniqueEmail } from "./helpers";

/** A platform authenticator that holds discoverable credentials and verifies its user. */
async function virtualAuthenticator(page: Page): Promise<{ cdp: CDPSession; authenticatorId: string }> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return { cdp, authenticatorId };
}

async function signOut(page: Page) {
  await nav(page).getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);
}

async function addPasskey(page: Page, name: string) {
  await page.goto("/security");
  await hydrated(page);
  await page.getByLabel("Passkey name").fill(name);
  await page.getByRole("button", { name: "Add a passkey" }).click();
}

test("a passkey signs in without an address and answers the second step", async ({ page }) => {
  const { cdp, authenticatorId } = await virtualAuthenticator(page);
  const email = uniqueEmail("passkey");
  await register(page, email);

  await addPasskey(page, "Test laptop");
  // The account's first second factor: ten recovery codes, shown once.
  await expect(page.getByTestId("recovery-codes").locator("li")).toHaveCount(10);
  await page.getByRole("button", { name: "I have saved them" }).click();
  await expect(page.getByTestId("passkey-item")).toHaveCount(1);
  await expect(page.getByTestId("passkey-item")).toContainText("Test laptop");
  // The authenticator holds it as a discoverable credential for this site.
  const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
  expect(credentials).toHaveLength(1);
  expect(credentials[0].isResidentCredential).toBe(true);
  expect(credentials[0].rpId).toBe("localhost");

  // Username-less: no address, no password.
  await signOut(page);
  await hydrated(page);
  await page.getByRole("button", { name: "Sign in with a passkey" }).click();
  await expect(page).toHaveURL(/\/account$/);
  await expect(signedInMarker(page)).toBeVisible();
  await expect(page.getByText(email).first()).toBeVisible();

  // A password alone no longer signs in: the passkey is the second step.
  await signOut(page);
  await signIn(page, email);
  await expect(signedInMarker(page)).toHaveCount(0);
  await page.getByRole("button", { name: "Use a passkey" }).click();
  await expect(page).toHaveURL(/\/account$/);
  await expect(signedInMarker(page)).toBeVisible();
});

test("removing the only passkey brings back the password alone", async ({ page }) => {
  await virtualAuthenticator(page);
  const email = uniqueEmail("passkey-remove");
  await register(page, email);
  await addPasskey(page, "Spare key");
  await page.getByRole("button", { name: "I have saved them" }).click();
  const item = page.getByTestId("passkey-item");
  await expect(item).toContainText("Spare key");

  // Renamed, then removed (the sign-in is recent: no step-up asked).
  await item.getByRole("button", { name: "Rename" }).click();
  await item.getByLabel("New name").fill("Old key");
  await item.getByRole("button", { name: "Save" }).click();
  await expect(item).toContainText("Old key");
  await item.getByRole("button", { name: "Remove" }).click();
  await expect(page.getByTestId("passkey-item")).toHaveCount(0);

  await signOut(page);
  await signIn(page, email);
  await expect(page).toHaveURL(/\/account$/);
  await expect(signedInMarker(page)).toBeVisible();
});
