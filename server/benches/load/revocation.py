#!/usr/bin/env python3
"""Revocation latency under one LATCHKEY_ACCESS_CHECK setting.

Signs in twice on server A, revokes the first session from the second,
then presents the first session's access token to A and to B (another
server on the same database) until each refuses it, or 3 s pass. Repeats
ROUNDS times; prints name=value lines (milliseconds, median and max; "none"
when the token was still accepted after 3 s, as `stateless` does until exp).
Standard library only.
"""
import base64
import json
import statistics
import sys
import threading
import time
import urllib.error
import urllib.request

A, B, CHECK = sys.argv[1], sys.argv[2], sys.argv[3]
ROUNDS = 3 if CHECK == "stateless" else 15
LIMIT_S = 3.0
PASSWORD = "revocation passphrase that is long enough"


def call(base, method, path, token=None, body=None):
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req) as resp:
            text = resp.read()
            return resp.status, json.loads(text) if text else None
    except urllib.error.HTTPError as err:
        return err.code, None


def session_of(token):
    """The `sid` claim: the session this access token belongs to."""
    claims = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))["sid"]


def refused_after(base, token, started, out, key):
    while time.monotonic() - started < LIMIT_S:
        status, _ = call(base, "GET", "/api/me", token)
        if status == 401:
            out[key] = (time.monotonic() - started) * 1000
            return
        time.sleep(0.002)
    out[key] = None


email = f"revoke-{CHECK}-{time.time_ns()}@example.com"
status, _ = call(A, "POST", "/api/auth/register", body={"email": email, "password": PASSWORD})
assert status == 201, status
results = {"local": [], "replica": []}
for _ in range(ROUNDS):
    _, first = call(A, "POST", "/api/auth/login", body={"email": email, "password": PASSWORD})
    _, second = call(A, "POST", "/api/auth/login", body={"email": email, "password": PASSWORD})
    # Both servers have verified (and cached) the token before the revocation.
    assert call(A, "GET", "/api/me", first["access_token"])[0] == 200
    assert call(B, "GET", "/api/me", first["access_token"])[0] == 200
    sid = session_of(first["access_token"])
    status, _ = call(A, "DELETE", f"/api/me/sessions/{sid}", second["access_token"])
    assert status == 204, status
    started = time.monotonic()
    out = {}
    watchers = [
        threading.Thread(target=refused_after, args=(A, first["access_token"], started, out, "local")),
        threading.Thread(target=refused_after, args=(B, first["access_token"], started, out, "replica")),
    ]
    for w in watchers:
        w.start()
    for w in watchers:
        w.join()
    for key in results:
        results[key].append(out[key])

check = CHECK.replace("-", "_")
for where, values in results.items():
    seen = [v for v in values if v is not None]
    if len(seen) < len(values):
        print(f"revocation_{check}_{where}_ms=none")
    else:
        print(f"revocation_{check}_{where}_ms_median={statistics.median(seen):.1f}")
        print(f"revocation_{check}_{where}_ms_max={max(seen):.1f}")
