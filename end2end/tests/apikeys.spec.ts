// Personal API keys in the browser, in both modes: made on the Security
// page (shown once), used from outside the browser as a Bearer credential,
// listed with their last use, revoked by the user or by an administrator —
// and refused at once after.

import { Browser, Page } from "@playwright/test";
import { test, expect, hydrated } from "./fixtures";
import { createAdmin, nav, register, screenshot, signIn, uniqueEmail } from "./helpers";

async function otherBrowser(browser: Browser, guard: (p: Page) => Page) {
  return guard(await (await browser.newContext()).newPage());
}

/** Makes a key on the Security page; returns the key the page showed once. */
async function makeKey(page: Page, name: string, readOnly = false): Promise<string> {
  await page.goto("/security");
  await hydrated(page);
  const section = page.getByTestId("api-keys");
  await section.getByLabel("Key name").fill(name);
  if (readOnly) {
    await section.getByLabel(/Read-only/).check();
  }
  await section.getByTestId("create-api-key").click();
  const shown = section.getByTestId("new-api-key");
  await expect(shown).toBeVisible();
  const key = await shown.getByLabel("New API key").inputValue();
  expect(key).toMatch(/^lk_[A-Za-z0-9_-]{43}$/);
  return key;
}

test("a user makes an API key, uses it from a script, sees its last use and revokes it", async ({
  page,
  request,
  authMode,
}) => {
  const email = uniqueEmail("keys");
  await register(page, email);
  const key = await makeKey(page, "backup script");
  const section = page.getByTestId("api-keys");
  const item = section.getByTestId("api-key-item");
  await expect(item).toHaveCount(1);
  await expect(item).toContainText("backup script");
  await expect(item).toContainText(key.slice(0, 10));
  await expect(item).not.toContainText(key.slice(10));
  await expect(item).toContainText("Last used never");
  await screenshot(page, `api-keys-${authMode}`);

  // Shown once: after "Done" (or a reload) the key is nowhere on the page.
  await section.getByRole("button", { name: "Done" }).click();
  await expect(section.getByTestId("new-api-key")).toHaveCount(0);
  await page.reload();
  await hydrated(page);
  expect(await page.content()).not.toContain(key);

  // A script (no browser, no cookies) uses it.
  const me = await request.get("/api/me", { headers: { Authorization: `Bearer ${key}` } });
  expect(me.status()).toBe(200);
  expect((await me.json()).email).toBe(email);
  await page.reload();
  await expect(page.getByTestId("api-key-item")).not.toContainText("Last used never");

  // Revoked: the script is refused on its next request.
  await page.getByTestId("api-key-item").getByRole("button", { name: "Revoke the API key backup script" }).click();
  await expect(page.getByText("API key revoked.")).toBeVisible();
  await expect(page.getByTestId("api-key-item")).toHaveCount(0);
  const after = await request.get("/api/me", { headers: { Authorization: `Bearer ${key}` } });
  expect(after.status()).toBe(401);
});

test("a read-only key reads but cannot change the account", async ({ page, request }) => {
  await register(page, uniqueEmail("readonly"));
  const key = await makeKey(page, "dashboard", true);
  await expect(page.getByTestId("api-key-item")).toContainText("read-only");
  const auth = { Authorization: `Bearer ${key}` };
  expect((await request.get("/api/me", { headers: auth })).status()).toBe(200);
  const write = await request.patch("/api/me", { headers: auth, data: { display_name: "changed" } });
  expect(write.status()).toBe(403);
  expect((await write.json()).error).toBe("forbidden");
});

test("an administrator sees a user's keys and revokes one", async ({ page, browser, guard, request, authMode }) => {
  const member = await otherBrowser(browser, guard);
  const memberEmail = uniqueEmail("keyowner");
  await register(member, memberEmail);
  const key = await makeKey(member, "ci deploy");

  const adminEmail = uniqueEmail("keyadmin");
  createAdmin(authMode, adminEmail);
  await signIn(page, adminEmail);
  await nav(page).getByRole("link", { name: "Admin" }).click();
  await page.getByLabel("Search by email or name").fill(memberEmail);
  await page.getByRole("button", { name: "Search" }).click();
  await page.locator(`tr[data-email="${memberEmail}"]`).getByRole("link", { name: "Sessions" }).click();
  const keys = page.getByTestId("api-keys");
  await expect(keys.getByTestId("api-key-item")).toContainText("ci deploy");
  await expect(keys.getByTestId("api-key-form")).toHaveCount(0);
  await keys.getByRole("button", { name: "Revoke the API key ci deploy" }).click();
  await expect(page.getByText("API key revoked.")).toBeVisible();
  await expect(keys.getByTestId("api-key-item")).toHaveCount(0);
  expect((await request.get("/api/me", { headers: { Authorization: `Bearer ${key}` } })).status()).toBe(401);

  // The owner's page shows it gone.
  await member.reload();
  await expect(member.getByTestId("api-keys").getByText("No API keys.")).toBeVisible();
  await member.context().close();
});
