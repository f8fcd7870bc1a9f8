import { defineConfig } from "@playwright/test";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { SHORT_ACCESS_TTL_SECS } from "./settings";

// The servers under test: the binary `cargo leptos build` made, each on a
// SQLite file of its own. The Makefile passes the paths; the defaults suit
// a plain `cargo leptos build` in this workspace. The second server gives
// access tokens a 5-second life, so tests can watch many silent refreshes.
const port = Number(process.env.E2E_PORT ?? 3210);
const shortTtlPort = port + 1;
const baseURL = `http://127.0.0.1:${port}`;
const shortTtlURL = `http://127.0.0.1:${shortTtlPort}`;
const bin = process.env.LATCHKEY_BIN ?? path.resolve(__dirname, "../target/debug/latchkey");
const siteRoot = process.env.LEPTOS_SITE_ROOT ?? path.resolve(__dirname, "../target/site");
// One temporary folder per run for the servers' SQLite files; workers load
// this file too and inherit the variable, so they reuse the folder, and
// teardown.ts removes it.
process.env.LATCHKEY_E2E_DATA_DIR ??= fs.mkdtempSync(path.join(os.tmpdir(), "latchkey-e2e-"));
const dataDir = process.env.LATCHKEY_E2E_DATA_DIR;

function server(url: string, listen: string, name: string, env: Record<string, string> = {}) {
  return {
    command: bin,
    url: `${url}/api/health`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: "pipe" as const,
    stderr: "pipe" as const,
    env: {
      DATABASE_URL: `sqlite://${path.join(dataDir, `${name}.db`)}`,
      LEPTOS_SITE_ADDR: listen,
      LEPTOS_SITE_ROOT: siteRoot,
      LATCHKEY_PUBLIC_ORIGIN: url,
      // Every test signs in from 127.0.0.1; the per-address limit would
      // otherwise trip across tests. The per-account limit stays at its default.
      LATCHKEY_RATE_ADDRESS_PER_MIN: "10000",
      RUST_LOG: "warn",
      ...env,
    },
  };
}

export default defineConfig({
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
    { name: "app", testIgnore: /\.short-ttl\.spec\.ts$/, use: { baseURL } },
    { name: "short-ttl", testMatch: /\.short-ttl\.spec\.ts$/, use: { baseURL: shortTtlURL } },
  ],
  webServer: [
    server(baseURL, `127.0.0.1:${port}`, "app"),
    server(shortTtlURL, `127.0.0.1:${shortTtlPort}`, "short-ttl", {
      LATCHKEY_ACCESS_TTL_SECS: String(SHORT_ACCESS_TTL_SECS),
    }),
  ],
});
