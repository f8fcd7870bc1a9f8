"""Signs schemathesis in as the account run.sh created.

LATCHKEY_FUZZ_AS chooses the credential:
- "anonymous": none (every protected route must answer 401);
- "bearer": an access token from POST /api/auth/login;
- "session": the session cookie and CSRF token from POST /api/session/login.

A 401 makes schemathesis sign in again (its default `retry_on`): fuzzed
requests may end the session (logout, logout-all), which is fine.
"""

import os

import requests
import schemathesis

BASE = os.environ["LATCHKEY_FUZZ_URL"]
AS = os.environ.get("LATCHKEY_FUZZ_AS", "anonymous")
CREDENTIALS = {
    "email": os.environ.get("LATCHKEY_FUZZ_EMAIL", ""),
    "password": os.environ.get("LATCHKEY_FUZZ_PASSWORD", ""),
}
SESSION_COOKIE = os.environ.get("LATCHKEY_FUZZ_SESSION_COOKIE", "latchkey-session")


def _login(path):
    response = requests.post(f"{BASE}{path}", json=CREDENTIALS, timeout=10)
    if response.status_code != 200:
        raise RuntimeError(f"sign-in for the fuzzer failed: {response.status_code} {response.text}")
    return response


if AS == "bearer":

    @schemathesis.auth()
    class Bearer:
        def get(self, case, ctx):
            return _login("/api/auth/login").json()["access_token"]

        def set(self, case, data, ctx):
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

elif AS == "session":

    @schemathesis.auth()
    class SessionCookie:
        def get(self, case, ctx):
            response = _login("/api/session/login")
            return response.cookies[SESSION_COOKIE], response.json()["csrf_token"]

        def set(self, case, data, ctx):
            cookie, csrf_token = data
            case.cookies = {**(case.cookies or {}), SESSION_COOKIE: cookie}
            case.headers = {**(case.headers or {}), "X-CSRF-Token": csrf_token}

elif AS != "anonymous":
    raise RuntimeError(f"LATCHKEY_FUZZ_AS must be anonymous, bearer or session, not {AS!r}")
