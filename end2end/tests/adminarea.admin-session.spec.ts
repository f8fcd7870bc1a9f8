// LATCHKEY_ADMIN_AUTH=session, under an app in either mode: the admin area
// takes a session cookie of its own — entered with the password in JWT mode,
// where the app holds an access token that the area refuses — while the
// app's own credential keeps working everywhere else. (The area's idle
// timeout is tested black-box with a settable clock.)

import { test, expect, hydrated } from "./fixtures";
import { PASSWORD, createAdmin, nav, screenshot, signIn, uniqueEmail } from "./helpers";

test("the admin area takes its own session cookie, and a Bearer token only elsewhere", async ({
  page,
  request,
  authMode,
}) => {
  const email = uniqueEmail("areaadmin");
  createAdmin(`admin-session-${authMode}`, email);
  await signIn(page, email);
  await expect(page).toHaveURL(/\/account$/);
  await nav(page).getByRole("link", { name: "Admin" }).click();
  await expect(page).toHaveURL(/\/admin\/users$/);

  if (authMode === "jwt") {
    // The app's access token does not open the area: enter it.
    const enter = page.getByTestId("enter-admin");
    await expect(enter).toBeVisible();
    await screenshot(page, "admin-enter-jwt");
    await enter.getByLabel("Password").fill("not the password at all");
    await enter.getByTestId("enter-admin-area").click();
    await expect(enter.getByRole("alert")).toBeVisible();
    await expect(page.getByLabel("Search by email or name")).toHaveCount(0);
    await enter.getByLabel("Password").fill(PASSWORD);
    await enter.getByTestId("enter-admin-area").click();
  }
  await expect(page.getByLabel("Search by email or name")).toBeVisible();
  await page.getByLabel("Search by email or name").fill(email);
  await page.getByRole("button", { name: "Search" }).click();
  await expect(page.getByTestId("page-of")).toHaveText("Page 1 of 1 · 1 users");

  // A reload keeps the area open (the cookie session lives on).
  await page.reload();
  await hydrated(page);
  await expect(page.getByLabel("Search by email or name")).toBeVisible();
  await expect(page.getByTestId("enter-admin")).toHaveCount(0);

  // The page says which credential each area takes here.
  await page.goto("/how-it-works");
  await expect(page.getByTestId("strategy-admin")).toContainText("a session cookie of its own");

  // Outside the browser: a Bearer token is refused by the admin API and
  // accepted by the rest.
  const login = await request.post("/api/auth/login", { data: { email, password: PASSWORD } });
  expect(login.status()).toBe(200);
  const token = (await login.json()).access_token as string;
  const bearer = { Authorization: `Bearer ${token}` };
  const admin = await request.get("/api/admin/users", { headers: bearer });
  expect(admin.status()).toBe(403);
  expect((await admin.json()).error).toBe("forbidden");
  expect((await request.get("/api/me", { headers: bearer })).status()).toBe(200);
});

test("signing out of the app also closes the admin area", async ({ page, authMode }) => {
  const email = uniqueEmail("areaout");
  createAdmin(`admin-session-${authMode}`, email);
  await signIn(page, email);
  await expect(page).toHaveURL(/\/account$/);
  await page.goto("/admin/users");
  if (authMode === "jwt") {
    await page.getByTestId("enter-admin").getByLabel("Password").fill(PASSWORD);
    await page.getByTestId("enter-admin-area").click();
  }
  await expect(page.getByLabel("Search by email or name")).toBeVisible();
  await nav(page).getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  // No session cookie of the area is left alive in this browser.
  const left = await page.evaluate(async () => (await fetch("/api/session")).status);
  expect(left).toBe(204);
  await signIn(page, email);
  await expect(page).toHaveURL(/\/account$/);
  await page.goto("/admin/users");
  if (authMode === "jwt") {
    await expect(page.getByTestId("enter-admin")).toBeVisible();
  } else {
    await expect(page.getByLabel("Search by email or name")).toBeVisible();
  }
});
