// A server that signs in only confirmed addresses
// (LATCHKEY_REQUIRE_VERIFIED_EMAIL=true), in both modes: sign-up starts no
// session, sign-in before the link is refused with a way to get a new one,
// and the mailed link (read from the real maildev server) opens the door.

import { expect, hydrated, test } from "./fixtures";
import { PASSWORD, mailedLink, signIn, signedInMarker, uniqueEmail } from "./helpers";

test("sign-up mails a link; sign-in waits for it and can ask for a new one", async ({ page, context }) => {
  const email = uniqueEmail("gate");
  await page.goto("/register");
  await hydrated(page);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByTestId("verify-first")).toContainText(email);
  await expect(signedInMarker(page)).toHaveCount(0);
  // No credential of either kind was handed out.
  expect((await context.cookies()).filter((c) => c.name.includes("latchkey"))).toEqual([]);

  await signIn(page, email);
  await expect(page.getByRole("alert")).toContainText("Please confirm your email address first");
  await expect(signedInMarker(page)).toHaveCount(0);
  await page.getByRole("button", { name: "Mail me a new link" }).click();
  await expect(page.getByText(`A new link is on its way to ${email}.`)).toBeVisible();

  // The second link (the new one ends the first).
  const link = await mailedLink(email, /Confirm your email/, 2);
  await page.goto(link);
  await expect(page.getByTestId("email-verified")).toContainText(`${email} is confirmed`);

  await signIn(page, email);
  await expect(page).toHaveURL(/\/account$/);
  await expect(signedInMarker(page)).toBeVisible();
  await expect(page.getByTestId("email-state")).toHaveText("confirmed");
});
