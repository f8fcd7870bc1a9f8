#!/usr/bin/env python3
"""Mints a fresh access token for every seeded JWT session, just before a
measurement: each refresh cookie in cookies.txt is rotated once, and
tokens.txt / cookies.txt are rewritten with the new token and the
successor cookie (the old cookie is spent: sending it again would be reuse).

    mint.py BASE LOAD_DIR
Standard library only.
"""
import json
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor

BASE = sys.argv[1]
OUT = sys.argv[2]
COOKIE = "__Secure-latchkey-refresh"


def refresh(cookie):
    req = urllib.request.Request(
        BASE + "/api/auth/refresh",
        data=b"{}",
        headers={"content-type": "application/json", "cookie": f"{COOKIE}={cookie}"},
        method="POST",
    )
    with urllib.request.urlopen(req) as resp:
        successor = next(
            v.split(";")[0].split("=", 1)[1]
            for k, v in resp.getheaders()
            if k.lower() == "set-cookie" and v.startswith(COOKIE + "=")
        )
        return json.load(resp)["access_token"], successor


with open(f"{OUT}/cookies.txt") as f:
    cookies = [line.strip() for line in f if line.strip()]
with ThreadPoolExecutor(max_workers=4) as pool:
    minted = list(pool.map(refresh, cookies))
with open(f"{OUT}/tokens.txt", "w") as t, open(f"{OUT}/cookies.txt", "w") as c:
    for token, cookie in minted:
        t.write(token + "\n")
        c.write(cookie + "\n")
print(f"minted {len(minted)} fresh access tokens", file=sys.stderr)
