// Steps many tests share: accounts, sign-in, what the browser has stored.

import { BrowserContext, Page } from "@playwright/test";
import { execFileSync } from "node:child_process";
import { createHmac } from "node:crypto";
import * as path from "node:path";
import { LATCHKEY_BIN, MAILDEV_URL, serverDatabase } from "../settings";
import { AuthMode, expect, hydrated } from "./fixtures";

/** The API routes the app uses in each mode. */
export const ROUTES = {
  jwt: { login: "/api/auth/login", renew: { method: "POST", path: "/api/auth/refresh" }, cookie: "latchkey-refresh" },
  session: { login: "/api/session/login", renew: { method: "GET", path: "/api/session" }, cookie: "latchkey-session" },
} as const;

export const PASSWORD = "correct horse battery staple";
export const OTHER_PASSWORD = "vivid otter maps the quiet dune";

let counter = 0;
export function uniqueEmail(tag = "user"): string {
  counter += 1;
  return `${tag}-${Date.now()}-${counter}-${Math.floor(Math.random() * 1e6)}@example.com`;
}

export async function register(page: Page, email: string, password = PASSWORD, name = "") {
  await page.goto("/register");
  await hydrated(page);
  await page.getByLabel("Email").fill(email);
  if (name) await page.getByLabel("Display name").fill(name);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/account$/);
  await expect(signedInMarker(page)).toBeVisible();
}

export async function signIn(page: Page, email: string, password = PASSWORD, path = "/login") {
  await page.goto(path);
  await hydrated(page);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
}

/** Present only on a page rendered for a signed-in user. */
export function signedInMarker(page: Page) {
  return page.locator("[data-signed-in]");
}

export function nav(page: Page) {
  return page.getByRole("navigation", { name: "Main" });
}

/**
 * Counts renewals across every page of a context: POST /api/auth/refresh
 * (JWT mode) or GET /api/session (session mode).
 */
export function countRefreshes(context: BrowserContext, mode: AuthMode = "jwt") {
  const counter = { count: 0 };
  const { method, path } = ROUTES[mode].renew;
  context.on("request", (request) => {
    if (request.method() === method && new URL(request.url()).pathname === path) {
      counter.count += 1;
    }
  });
  return counter;
}

/** Every secret the server hands this context in a body: access tokens and CSRF tokens. */
export function collectTokens(context: BrowserContext): string[] {
  const tokens: string[] = [];
  context.on("response", async (response) => {
    if (!new URL(response.url()).pathname.startsWith("/api/") || !response.ok()) return;
    try {
      const body = await response.json();
      for (const key of ["access_token", "csrf_token"]) {
        if (typeof body?.[key] === "string") tokens.push(body[key]);
      }
    } catch {
      // A body already gone with its page (or none at all) tells nothing.
    }
  });
  return tokens;
}

/** Everything the page's scripts could read back later: Web Storage, cookies, IndexedDB. */
export async function readableStorage(page: Page): Promise<string> {
  return page.evaluate(async () => {
    const dump = (s: Storage) => JSON.stringify(Object.entries({ ...s }));
    const databases = (await indexedDB.databases?.()) ?? [];
    const idb: string[] = [];
    for (const info of databases) {
      if (!info.name) continue;
      const db: IDBDatabase = await new Promise((ok, fail) => {
        const open = indexedDB.open(info.name!);
        open.onsuccess = () => ok(open.result);
        open.onerror = () => fail(open.error);
      });
      for (const store of Array.from(db.objectStoreNames)) {
        const rows: unknown[] = await new Promise((ok, fail) => {
          const req = db.transaction(store).objectStore(store).getAll();
          req.onsuccess = () => ok(req.result);
          req.onerror = () => fail(req.error);
        });
        idb.push(JSON.stringify(rows));
      }
      db.close();
    }
    return JSON.stringify({
      localStorage: dump(localStorage),
      sessionStorage: dump(sessionStorage),
      cookie: document.cookie,
      indexedDB: idb,
      databases: databases.map((d) => d.name),
    });
  });
}

export async function screenshot(page: Page, name: string) {
  await page.screenshot({ path: path.join(__dirname, "..", "screenshots", `${name}.png`), fullPage: true });
}

/**
 * Creates an administrator the way an operator does, with
 * `latchkey user create --role admin` on the server's database (the
 * password on standard input). There are no default accounts.
 */
/** An administrator on the server named `server` (a mode's, or "short-ttl"). */
export function createAdmin(server: AuthMode | "short-ttl" | `admin-session-${AuthMode}`, email: string, password = PASSWORD) {
  execFileSync(LATCHKEY_BIN, ["user", "create", "--email", email, "--role", "admin"], {
    input: password,
    env: { ...process.env, DATABASE_URL: serverDatabase(server), RUST_LOG: "warn" },
    stdio: ["pipe", "ignore", "inherit"],
  });
}

/**
 * The link of the newest mail to `address` whose subject matches, as the
 * development mail server received it over SMTP (waits for it to arrive).
 */
export async function mailedLink(address: string, subject: RegExp, count = 1): Promise<string> {
  let link: string | undefined;
  await expect
    .poll(
      async () => {
        const mails: { to: { address: string }[]; subject: string; text: string }[] = await (
          await fetch(`${MAILDEV_URL}/email`)
        ).json();
        const matching = mails.filter((m) => m.to.some((t) => t.address === address) && subject.test(m.subject));
        // The newest, once `count` of them have arrived.
        const mail = matching.length >= count ? matching.pop() : undefined;
        link = mail?.text.match(/https?:\/\/\S+#token=[A-Za-z0-9_-]+/)?.[0];
        return link;
      },
      { timeout: 10_000, message: `a mail to ${address}` },
    )
    .toBeTruthy();
  return link!;
}

/**
 * The authenticator app: the RFC 6238 code (HMAC-SHA-1, six digits,
 * 30-second steps) for a base32 secret, `offsetSteps` steps from now.
 */
export function totp(secretBase32: string, offsetSteps = 0): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  const bits = [...secretBase32.replace(/=+$/, "")]
    .map((c) => alphabet.indexOf(c).toString(2).padStart(5, "0"))
    .join("");
  const key = Buffer.from(bits.match(/.{8}/g)!.map((byte) => parseInt(byte, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000 / 30) + offsetSteps));
  const mac = createHmac("sha1", key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0xf;
  return ((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).toString().padStart(6, "0");
}

/**
 * Turns on two-step sign-in from the security page (the session is fresh,
 * so no step-up); returns the app's secret and the recovery codes.
 */
export async function enableTotp(page: Page): Promise<{ secret: string; codes: string[]; usedCode: string }> {
  await page.goto("/security");
  await hydrated(page);
  await page.getByRole("button", { name: "Set up an authenticator app" }).click();
  const secret = (await page.getByTestId("totp-secret").textContent())!.trim();
  await expect(page.locator(".qr svg")).toBeVisible();
  // The code that turns it on is used up: a test that wants a refused
  // code replays this one (a 30-second boundary may pass meanwhile, and
  // then "the current code" would be a new, valid one).
  const usedCode = totp(secret);
  await page.getByLabel("Code from the app").fill(usedCode);
  await page.getByRole("button", { name: "Turn on" }).click();
  const list = page.getByTestId("recovery-codes").locator("li");
  await expect(list).toHaveCount(10);
  const codes = (await list.allTextContents()).map((c) => c.trim());
  await page.getByRole("button", { name: "I have saved them" }).click();
  await expect(page.getByTestId("mfa-state")).toContainText("10 recovery codes left");
  return { secret, codes, usedCode };
}
