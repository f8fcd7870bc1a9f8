// Settings shared by the Playwright config and the tests.

/** Access-token lifetime of the "short-ttl" server, in seconds. */
export const SHORT_ACCESS_TTL_SECS = 5;
