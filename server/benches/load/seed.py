#!/usr/bin/env python3
"""Seeds a running Latchkey with users and sessions for the load scripts.

Writes, one per line: `tokens.txt` (access tokens), `cookies.txt` (refresh
cookie values, one session each) and `logins.txt` (email<TAB>password).
Standard library only.
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


def post(path, body):
    req = urllib.request.Request(
        BASE + path,
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req) as resp:
        cookie = next(
            v.split(";")[0].split("=", 1)[1]
            for k, v in resp.getheaders()
            if k.lower() == "set-cookie" and v.startswith(COOKIE + "=")
        )
        return json.load(resp)["access_token"], cookie


def user(i):
    email = f"load{i}@example.com"
    sessions = [post("/api/auth/register", {"email": email, "password": PASSWORD})]
    for _ in range(SESSIONS_PER_USER - 1):
        sessions.append(post("/api/auth/login", {"email": email, "password": PASSWORD}))
    return email, sessions


with ThreadPoolExecutor(max_workers=4) as pool:
    results = list(pool.map(user, range(USERS)))

with open(f"{OUT}/tokens.txt", "w") as t, open(f"{OUT}/cookies.txt", "w") as c, open(f"{OUT}/logins.txt", "w") as l:
    for email, sessions in results:
        l.write(f"{email}\t{PASSWORD}\n")
        for token, cookie in sessions:
            t.write(token + "\n")
            c.write(cookie + "\n")
print(f"seeded {USERS} users, {USERS * SESSIONS_PER_USER} sessions", file=sys.stderr)
