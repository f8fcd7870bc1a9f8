#!/usr/bin/env python3
"""Seeds a running Latchkey with users and sessions for the load scripts.

Writes, one per line: `tokens.txt` (access tokens), `cookies.txt` (refresh
cookie values, one session each), `session_cookies.txt` (session-mode
cookie values, one cookie session each) and `logins.txt`
(email<TAB>password). Standard library only.
"""
import json
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor

BASE = sys.argv[1]
USERS = int(sys.argv[2])
SESSIONS_PER_USER = int(sys.argv[3])
OUT = sys.argv[4]
PASSWORD = "loadtest passphrase that is long enough"
COOKIE = "__Secure-latchkey-refresh"
SESSION_COOKIE = "__Host-latchkey-session"


def set_cookie(resp, name):
    return next(
        v.split(";")[0].split("=", 1)[1]
        for k, v in resp.getheaders()
        if k.lower() == "set-cookie" and v.startswith(name + "=")
    )


def post(path, body, cookie=COOKIE):
    req = urllib.request.Request(
        BASE + path,
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req) as resp:
        return json.load(resp), set_cookie(resp, cookie)


def user(i):
    email = f"load{i}@example.com"
    body = {"email": email, "password": PASSWORD}
    sessions = [post("/api/auth/register", body)]
    for _ in range(SESSIONS_PER_USER - 1):
        sessions.append(post("/api/auth/login", body))
    cookie_sessions = [post("/api/session/login", body, SESSION_COOKIE)[1] for _ in range(SESSIONS_PER_USER)]
    return email, [(reply["access_token"], cookie) for reply, cookie in sessions], cookie_sessions


with ThreadPoolExecutor(max_workers=4) as pool:
    results = list(pool.map(user, range(USERS)))

with (
    open(f"{OUT}/tokens.txt", "w") as t,
    open(f"{OUT}/cookies.txt", "w") as c,
    open(f"{OUT}/session_cookies.txt", "w") as s,
    open(f"{OUT}/logins.txt", "w") as l,
):
    for email, sessions, cookie_sessions in results:
        l.write(f"{email}\t{PASSWORD}\n")
        for token, cookie in sessions:
            t.write(token + "\n")
            c.write(cookie + "\n")
        for cookie in cookie_sessions:
            s.write(cookie + "\n")
print(f"seeded {USERS} users, {USERS * SESSIONS_PER_USER} JWT and as many cookie sessions", file=sys.stderr)
