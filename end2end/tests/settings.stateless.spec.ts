// The app takes its rules from the server it talks to, not from its own
// copy: this server wants passwords of at least 20 characters.

import { test, expect, hydrated } from "./fixtures";

test("the register form states the server's minimum password length and checks it before sending", async ({
  page,
}) => {
  await page.goto("/register");
  await hydrated(page);
  await expect(page.getByText("At least 20 characters.", { exact: false })).toBeVisible();
  let sent = false;
  page.on("request", (request) => {
    if (new URL(request.url()).pathname.endsWith("/register")) sent = sent || request.method() === "POST";
  });
  await page.getByLabel("Email").fill("ada@example.com");
  await page.getByLabel("Password").fill("seventeen-letters");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByText("Password must be at least 20 characters (it has 17).")).toBeVisible();
  expect(sent).toBe(false);
});
