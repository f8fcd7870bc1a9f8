// The revocation demonstration on a server whose access check is
// `stateless`: the article's point about pure JWTs, seen in the browser.

import { test, expect } from "./fixtures";
import { register, signedInMarker, uniqueEmail } from "./helpers";

test("under the stateless check, a revoked session's access token keeps working until it expires", async ({
  page,
}) => {
  await register(page, uniqueEmail("stateless"));
  await page.goto("/how-it-works");
  await expect(signedInMarker(page)).toBeVisible();
  await expect(page.getByTestId("access-check")).toHaveText("stateless");
  await page.getByRole("button", { name: "Revoke this session and watch" }).click();
  const summary = page.getByTestId("demo-summary");
  await expect(summary).toHaveText(
    /^Still accepted 3\.0 s after the revocation: this token works for another \d+:\d\d although its session is gone\.$/,
  );
  const probes = page.getByTestId("demo-probes").locator("li");
  expect(await probes.count()).toBeGreaterThanOrEqual(5);
  await expect(page.getByTestId("demo-probes")).not.toContainText("refused");

  // The session itself is over: the refresh cookie no longer renews anything.
  await page.getByRole("button", { name: "Sign in again" }).click();
  await expect(page).toHaveURL(/\/login\?next=\/how-it-works$/);
  await page.goto("/account");
  await expect(page).toHaveURL(/\/login\?next=\/account$/);
});
