// The admin area: who sees it, and what an administrator's changes do to
// another user's browser (signed out at its next request), with the audit
// log to show for it.

import { Browser, Page } from "@playwright/test";
import { test, expect, hydrated } from "./fixtures";
import { createAdmin, enableTotp, nav, register, screenshot, signIn, signedInMarker, uniqueEmail } from "./helpers";

async function otherBrowser(browser: Browser, guard: (p: Page) => Page) {
  return guard(await (await browser.newContext()).newPage());
}

function userRow(page: Page, email: string) {
  return page.locator(`tr[data-email="${email}"]`);
}

/** Clicks a row's action, then its confirmation, and waits for the notice. */
async function change(page: Page, email: string, action: string, notice: string) {
  await userRow(page, email).getByRole("button", { name: action, exact: true }).click();
  await expect(userRow(page, email)).toContainText(/\?/);
  await userRow(page, email).getByRole("button", { name: `Yes, ${action.toLowerCase()}` }).click();
  await expect(page.getByText(notice)).toBeVisible();
}

test("users never see the admin area: no link, and a clear page at its address", async ({ page, authMode }) => {
  await register(page, uniqueEmail("plain"));
  await expect(nav(page).getByRole("link", { name: "Admin" })).toHaveCount(0);
  for (const path of ["/admin/users", "/admin/audit", "/admin/users/0190a0a0-0000-7000-8000-000000000000"]) {
    await page.goto(path);
    await expect(page.getByTestId("not-allowed")).toBeVisible();
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("Not allowed");
  }
  await screenshot(page, `admin-not-allowed-${authMode}`);
  // The API says the same, whatever the page does. A bare fetch carries the
  // session cookie (session mode: 403, signed in but not allowed) but no
  // access token (JWT mode: 401).
  const answer = await page.evaluate(async () => (await fetch("/api/admin/users")).status);
  expect(answer).toBe(authMode === "session" ? 403 : 401);
});

test("an admin demotes and disables a user, whose own browser is signed out each time; the audit log shows it", async ({
  page,
  browser,
  guard,
  authMode,
}) => {
  const adminEmail = uniqueEmail("admin");
  createAdmin(authMode, adminEmail);
  const member = await otherBrowser(browser, guard);
  const memberEmail = uniqueEmail("member");
  await register(member, memberEmail);

  await signIn(page, adminEmail);
  await expect(page).toHaveURL(/\/account$/);
  await nav(page).getByRole("link", { name: "Admin" }).click();
  await expect(page).toHaveURL(/\/admin\/users$/);
  await page.getByLabel("Search by email or name").fill(memberEmail);
  await page.getByRole("button", { name: "Search" }).click();
  await expect(page.getByTestId("page-of")).toHaveText("Page 1 of 1 · 1 users");
  await expect(page.getByRole("button", { name: "Previous", exact: true })).toBeDisabled();
  await expect(page.getByRole("button", { name: "Next", exact: true })).toBeDisabled();

  // Promoted, the member sees the admin link once their page reloads.
  await change(page, memberEmail, "Make admin", `${memberEmail} is now an administrator.`);
  await expect(userRow(page, memberEmail).locator("td").nth(2)).toHaveText("admin");
  await member.reload();
  await expect(nav(member).getByRole("link", { name: "Admin" })).toBeVisible();

  // Demoted: every session of theirs ends; their browser finds out at its next call.
  await change(page, memberEmail, "Make user", `${memberEmail} is now a regular user; their sessions were ended.`);
  await nav(member).getByRole("link", { name: "Security" }).click();
  await expect(member).toHaveURL(/\/login\?next=\/security$/);
  await expect(member.getByRole("alert")).toContainText("Your session was ended");

  // Signed in again, as a plain user; the admin sees that session and can end it.
  await member.getByLabel("Email").fill(memberEmail);
  await member.getByLabel("Password").fill("correct horse battery staple");
  await member.getByRole("button", { name: "Sign in" }).click();
  // Not /\/security$/: "/login?next=/security" ends that way too.
  await expect(member).toHaveURL(/:\d+\/security$/);
  await expect(signedInMarker(member)).toBeVisible();
  await expect(nav(member).getByRole("link", { name: "Admin" })).toHaveCount(0);
  await userRow(page, memberEmail).getByRole("link", { name: "Sessions" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(`Sessions of ${memberEmail}`);
  await expect(page.locator(".session")).toHaveCount(1);
  await page.goBack();
  await hydrated(page);

  // Disabled: signed out again, and the password no longer opens the account.
  await page.getByLabel("Search by email or name").fill(memberEmail);
  await page.getByRole("button", { name: "Search" }).click();
  await change(page, memberEmail, "Disable", `${memberEmail} is disabled; their sessions were ended.`);
  await expect(userRow(page, memberEmail).locator("td").nth(3)).toHaveText("disabled");
  await screenshot(page, `admin-users-${authMode}`);
  await member.reload();
  await expect(member).toHaveURL(/\/login\?next=\/security$/);
  await signIn(member, memberEmail);
  await expect(member.getByRole("alert")).toHaveText("The email or password is not right.");
  await expect(signedInMarker(member)).toHaveCount(0);

  // The audit log: newest first, the three changes with their details.
  await page.getByRole("navigation", { name: "Admin" }).getByRole("link", { name: "Audit log" }).click();
  await expect(page).toHaveURL(/\/admin\/audit$/);
  await page.getByLabel("Event").selectOption("admin.user_updated");
  const rows = page.getByTestId("audit-log").locator("tbody tr");
  await expect(rows).toHaveCount(3);
  await expect(rows.first().locator("time")).toHaveText(/just now|s ago/);
  await rows.first().getByText("Show").click();
  await expect(rows.first().locator("pre")).toContainText('"disabled": true');
  await rows.nth(1).getByText("Show").click();
  await expect(rows.nth(1).locator("pre")).toContainText('"role": "user"');
  await expect(rows.nth(1).locator("pre")).toContainText('"sessions_revoked": 1');
  await screenshot(page, `admin-audit-${authMode}`);
  // One user's events: the member's own sign-ins and the admin's changes to them.
  await rows.first().locator("td").nth(3).getByRole("button").click();
  await page.getByLabel("Event").selectOption("");
  await expect(page.getByTestId("audit-log").locator('tr[data-event="login.failed"]')).toHaveCount(1);
  await expect(page.getByTestId("audit-log").locator('tr[data-event="admin.user_updated"]')).toHaveCount(3);
  await expect(page.getByTestId("audit-log").locator('tr[data-event="user.registered"]')).toHaveCount(1);
  await member.context().close();
});

test("an admin sees a member's two-step sign-in and resets it; the member's browser is signed out", async ({
  page,
  browser,
  guard,
  authMode,
}) => {
  const adminEmail = uniqueEmail("admin");
  createAdmin(authMode, adminEmail);
  const member = await otherBrowser(browser, guard);
  const memberEmail = uniqueEmail("phoneless");
  await register(member, memberEmail);
  await enableTotp(member);

  await signIn(page, adminEmail);
  await expect(page).toHaveURL(/\/account$/);
  await page.goto("/admin/users");
  await hydrated(page);
  await page.getByLabel("Search by email or name").fill(memberEmail);
  await page.getByRole("button", { name: "Search" }).click();
  await expect(userRow(page, memberEmail).getByTestId("factors")).toContainText("app, 10 codes left");
  await change(page, memberEmail, "Reset two-step", `${memberEmail} signs in with the password alone now`);
  await expect(userRow(page, memberEmail).getByTestId("factors")).toHaveText("off");

  // The member's browser finds its session ended; the password alone signs in.
  await member.goto("/security");
  await expect(member).toHaveURL(/\/login\?next=\/security$/);
  await signIn(member, memberEmail, undefined, member.url());
  await expect(member).toHaveURL(/\/security$/);
  await expect(member.getByRole("button", { name: "Set up an authenticator app" })).toBeVisible();
});
