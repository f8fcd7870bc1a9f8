import * as fs from "node:fs";

/** Removes the run's temporary SQLite files (see playwright.config.ts). */
export default async function teardown() {
  const dir = process.env.LATCHKEY_E2E_DATA_DIR;
  if (dir && dir.includes("latchkey-e2e-")) fs.rmSync(dir, { recursive: true, force: true });
}
