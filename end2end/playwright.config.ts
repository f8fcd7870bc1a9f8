import { defineConfig } from "@playwright/test";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LATCHKEY_BIN, SHORT_ACCESS_TTL_SECS, SHORT_REAUTH_SECS, serverDatabase } from "./settings";
import type { AuthMode } from "./tests/fixtures";

// The servers under test: the binary `cargo leptos build` made, each on a
// SQLite file of its own. The Makefile passes the paths; the defaults suit
// a plain `cargo leptos build` in this workspace.
//
// The suite is a matrix: the same specs run against a JWT-mode server
// ("jwt") and a session-mode server ("session", LATCHKEY_AUTH_MODE=session);
// tests read `authMode` where the two differ on the wire. Two more servers
// serve one spec each: access tokens with a 5-second life (many silent
// refreshes), and the `stateless` access check (a revoked session's token
// still works); and two (one per mode) sign in only confirmed addresses.
const port = Number(process.env.E2E_PORT ?? 3210);
const url = (offset: number) => `http://127.0.0.1:${port + offset}`;
const baseURL = url(0);
const shortTtlURL = url(1);
const sessionURL = url(2);
const statelessURL = url(3);
const verifiedJwtURL = url(4);
const verifiedSessionURL = url(5);
// Passkeys need a domain name (browsers refuse an IP address as a WebAuthn
// relying party): these two servers are reached as localhost.
const passkeyJwtURL = `http://localhost:${port + 6}`;
const passkeySessionURL = `http://localhost:${port + 7}`;
// The admin area on a session cookie of its own (LATCHKEY_ADMIN_AUTH=session),
// under an app in either mode.
const adminSessionJwtURL = url(8);
const adminSessionSessionURL = url(9);
// A real development mail server (npm maildev): SMTP for the servers, a
// REST API for the tests to read what was sent.
const MAILDEV_SMTP_PORT = port + 20;
const MAILDEV_WEB_PORT = port + 21;
const siteRoot = process.env.LEPTOS_SITE_ROOT ?? path.resolve(__dirname, "../target/site");
// One temporary folder per run for the servers' SQLite files; workers load
// this file too and inherit the variable, so they reuse the folder, and
// teardown.ts removes it.
process.env.LATCHKEY_E2E_DATA_DIR ??= fs.mkdtempSync(path.join(os.tmpdir(), "latchkey-e2e-"));

function server(url: string, name: string, env: Record<string, string> = {}) {
  // Every server listens on 127.0.0.1, whatever name the browser uses.
  const listen = `127.0.0.1:${new URL(url).port}`;
  return {
    command: LATCHKEY_BIN,
    url: `http://${listen}/api/health`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: "pipe" as const,
    stderr: "pipe" as const,
    env: {
      DATABASE_URL: serverDatabase(name),
      LATCHKEY_SMTP_URL: `smtp://127.0.0.1:${MAILDEV_SMTP_PORT}`,
      LATCHKEY_MAIL_FROM: "Latchkey <no-reply@latchkey.test>",
      LEPTOS_SITE_ADDR: listen,
      LEPTOS_SITE_ROOT: siteRoot,
      LATCHKEY_PUBLIC_ORIGIN: url,
      // Every test signs in from 127.0.0.1; the per-address limit would
      // otherwise trip across tests. The per-account limit stays at its default.
      LATCHKEY_RATE_ADDRESS_PER_MIN: "10000",
      LATCHKEY_RATE_REFRESH_PER_MIN: "100000",
      LATCHKEY_RATE_MAIL_PER_HOUR: "100000",
      RUST_LOG: "warn",
      ...env,
    },
  };
}

/** Specs written for one particular server, outside the jwt × session matrix. */
const SINGLE_SERVER_SPECS = /\.(short-ttl|stateless|verified|passkey|admin-session)\.spec\.ts$/;

export default defineConfig<{ authMode: AuthMode }>({
  testDir: "./tests",
  globalTeardown: "./teardown.ts",
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  forbidOnly: !!process.env.CI,
  retries: 0,
  reporter: [["list"]],
  outputDir: "test-results",
  use: {
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: {
      // Debian's Chromium; Playwright's own browser download cannot work here.
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
  projects: [
    { name: "jwt", testIgnore: SINGLE_SERVER_SPECS, use: { baseURL, authMode: "jwt" } },
    { name: "session", testIgnore: SINGLE_SERVER_SPECS, use: { baseURL: sessionURL, authMode: "session" } },
    { name: "short-ttl", testMatch: /\.short-ttl\.spec\.ts$/, use: { baseURL: shortTtlURL } },
    { name: "stateless", testMatch: /\.stateless\.spec\.ts$/, use: { baseURL: statelessURL } },
    // Sign-in needs a confirmed address (LATCHKEY_REQUIRE_VERIFIED_EMAIL), in both modes.
    { name: "verified-jwt", testMatch: /\.verified\.spec\.ts$/, use: { baseURL: verifiedJwtURL, authMode: "jwt" } },
    {
      name: "verified-session",
      testMatch: /\.verified\.spec\.ts$/,
      use: { baseURL: verifiedSessionURL, authMode: "session" },
    },
    // Passkeys with Chromium's virtual authenticator, in both modes.
    { name: "passkey-jwt", testMatch: /\.passkey\.spec\.ts$/, use: { baseURL: passkeyJwtURL, authMode: "jwt" } },
    {
      name: "passkey-session",
      testMatch: /\.passkey\.spec\.ts$/,
      use: { baseURL: passkeySessionURL, authMode: "session" },
    },
    // The admin area takes a session cookie of its own, in both app modes.
    {
      name: "admin-session-jwt",
      testMatch: /\.admin-session\.spec\.ts$/,
      use: { baseURL: adminSessionJwtURL, authMode: "jwt" },
    },
    {
      name: "admin-session-session",
      testMatch: /\.admin-session\.spec\.ts$/,
      use: { baseURL: adminSessionSessionURL, authMode: "session" },
    },
  ],
  webServer: [
    {
      command: `npx maildev --ip 127.0.0.1 --smtp ${MAILDEV_SMTP_PORT} --web ${MAILDEV_WEB_PORT} --mail-directory ${path.join(process.env.LATCHKEY_E2E_DATA_DIR!, "maildev")}`,
      url: `http://127.0.0.1:${MAILDEV_WEB_PORT}/healthz`,
      reuseExistingServer: false,
      timeout: 30_000,
      stdout: "pipe" as const,
      stderr: "pipe" as const,
    },
    server(baseURL, "jwt"),
    server(shortTtlURL, "short-ttl", {
      LATCHKEY_ACCESS_TTL_SECS: String(SHORT_ACCESS_TTL_SECS),
      // Sign-ins go stale for sensitive actions within seconds (step-up).
      LATCHKEY_REAUTH_SECS: String(SHORT_REAUTH_SECS),
    }),
    server(sessionURL, "session", { LATCHKEY_AUTH_MODE: "session" }),
    // Also a non-default password length: the forms must say what this server wants.
    server(statelessURL, "stateless", { LATCHKEY_ACCESS_CHECK: "stateless", LATCHKEY_PASSWORD_MIN_CHARS: "20" }),
    server(verifiedJwtURL, "verified-jwt", { LATCHKEY_REQUIRE_VERIFIED_EMAIL: "true" }),
    server(verifiedSessionURL, "verified-session", {
      LATCHKEY_REQUIRE_VERIFIED_EMAIL: "true",
      LATCHKEY_AUTH_MODE: "session",
    }),
    server(passkeyJwtURL, "passkey-jwt"),
    server(passkeySessionURL, "passkey-session", { LATCHKEY_AUTH_MODE: "session" }),
    server(adminSessionJwtURL, "admin-session-jwt", { LATCHKEY_ADMIN_AUTH: "session" }),
    server(adminSessionSessionURL, "admin-session-session", {
      LATCHKEY_ADMIN_AUTH: "session",
      LATCHKEY_AUTH_MODE: "session",
    }),
  ],
});
