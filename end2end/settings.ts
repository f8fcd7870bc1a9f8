// Settings shared by the Playwright config and the tests.
import * as path from "node:path";

/** Access-token lifetime of the "short-ttl" server, in seconds. */
export const SHORT_ACCESS_TTL_SECS = 5;

/** How recent a sign-in must be for a sensitive action on the "short-ttl" server. */
export const SHORT_REAUTH_SECS = 5;

/** The server binary under test (the Makefile passes the build's path). */
export const LATCHKEY_BIN = process.env.LATCHKEY_BIN ?? path.resolve(__dirname, "../target/debug/latchkey");

/** The SQLite database of the server named `name` (see playwright.config.ts). */
export function serverDatabase(name: string): string {
  const dir = process.env.LATCHKEY_E2E_DATA_DIR;
  if (!dir) throw new Error("LATCHKEY_E2E_DATA_DIR is set by playwright.config.ts");
  return `sqlite://${path.join(dir, `${name}.db`)}`;
}

/** Where the tests read mail: maildev's REST API (started by playwright.config.ts). */
export const MAILDEV_URL = `http://127.0.0.1:${Number(process.env.E2E_PORT ?? 3210) + 21}`;
