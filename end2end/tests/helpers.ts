// Steps many tests share: accounts, sign-in, what the browser has stored.

import { BrowserContext, Page } from "@playwright/test";
import * as path from "node:path";
import { expect, hydrated } from "./fixtures";

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
  await page.getByRole("button", { name: "Sign in" }).click();
}

/** Present only on a page rendered for a signed-in user. */
export function signedInMarker(page: Page) {
  return page.locator("[data-signed-in]");
}

export function nav(page: Page) {
  return page.getByRole("navigation", { name: "Main" });
}

/** Counts POST /api/auth/refresh across every page of a context. */
export function countRefreshes(context: BrowserContext) {
  const counter = { count: 0 };
  context.on("request", (request) => {
    if (request.method() === "POST" && new URL(request.url()).pathname === "/api/auth/refresh") {
      counter.count += 1;
    }
  });
  return counter;
}

/** Every access token the server hands this context. */
export function collectTokens(context: BrowserContext): string[] {
  const tokens: string[] = [];
  context.on("response", async (response) => {
    const url = new URL(response.url()).pathname;
    if (!["/api/auth/login", "/api/auth/register", "/api/auth/refresh"].includes(url)) return;
    if (!response.ok()) return;
    try {
      const body = await response.json();
      if (typeof body.access_token === "string") tokens.push(body.access_token);
    } catch {
      // A body already gone with its page tells nothing.
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
