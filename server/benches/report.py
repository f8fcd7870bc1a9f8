#!/usr/bin/env python3
"""Turns results/load.csv and results/facts.txt into results/summary.md:
the load table (ratios to the same run's baseline), the targets of the
benchmark issue with what was measured against each, and the facts.
Standard library only.  Usage: report.py <results-dir>
"""
import csv
import sys

RESULTS = sys.argv[1]
rows = list(csv.DictReader(open(f"{RESULTS}/load.csv")))
facts = {}
for line in open(f"{RESULTS}/facts.txt"):
    if "=" in line:
        key, value = line.strip().split("=", 1)
        facts[key] = value


def fnum(key):
    try:
        return float(facts[key])
    except (KeyError, ValueError):
        return None


def row(backend, scenario):
    for r in rows:
        if r["backend"] == backend and r["scenario"] == scenario:
            return r
    return None


backends = [b for b in ("sqlite", "postgres") if any(r["backend"] == b for r in rows)]
names = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
scenarios = []
for r in rows:
    if r["scenario"] not in scenarios and r["scenario"] != "baseline":
        scenarios.append(r["scenario"])

out = []
out.append("### HTTP load (wrk, over 1,000 distinct credentials round-robin)\n")
head = "| scenario | " + " | ".join(f"{names[b]} req/s (p50 / p99 ms) | × baseline" for b in backends) + " |"
out.append(head)
out.append("|---|" + "---:|---:|" * len(backends))
for s in scenarios:
    cells = []
    for b in backends:
        r = row(b, s)
        if r is None:
            cells += ["–", "–"]
            continue
        cells.append(f"{float(r['rps']):,.0f} ({float(r['p50_ms']):.2f} / {float(r['p99_ms']):.2f})")
        cells.append(f"{float(r['ratio']):.2f}×")
    out.append(f"| GET {s} | " + " | ".join(cells) + " |")
out.append("")
bases = {b: [float(r["rps"]) for r in rows if r["backend"] == b and r["scenario"] == "baseline"] for b in backends}
out.append(
    "Baseline: `GET /.well-known/jwks.json` (unauthenticated, static, about the size of a `User`), measured "
    "right before and right after every round of a scenario; a round's ratio is to the mean of those two, and "
    "a scenario's row is its median round (every round's ratio is in the targets below). wrk sends the "
    "baseline and every scenario through the same script (`load/get.lua`), each request built once up front. "
    + "The baseline over the run: "
    + "; ".join(f"{names[b]} {min(v):,.0f}–{max(v):,.0f} req/s" for b, v in bases.items() if v)
    + ".\n"
)


def ratio(backend, scenario):
    r = row(backend, scenario)
    return float(r["ratio"]) if r else None


def rounds(backend, scenario):
    """ " (median of rounds a, b, c)" when the scenario ran in rounds."""
    ratios = facts.get(f"{backend}_rounds:{scenario}", "")
    return f" (median of rounds {ratios.replace(',', ', ')})" if "," in ratios else ""


def verdict(ok):
    return "met" if ok else "**not met**"


out.append("### Targets\n")
out.append("| target | measured | |")
out.append("|---|---|---|")
for b in backends:
    v = ratio(b, "/api/me Bearer revocation-cache")
    if v is not None:
        spread = rounds(b, "/api/me Bearer revocation-cache")
        out.append(f"| /api/me, EdDSA, revocation-cache ≥ 0.90× baseline ({names[b]}) | {v:.2f}×{spread} | {verdict(v >= 0.90)} |")
for b in backends:
    for scenario, label in (
        ("/api/me session cookie", "session cookie"),
        ("/api/me Bearer session-lookup", "Bearer session-lookup"),
    ):
        v = ratio(b, scenario)
        if v is not None:
            out.append(f"| /api/me, {label} ≥ 0.85× baseline ({names[b]}) | {v:.2f}×{rounds(b, scenario)} | {verdict(v >= 0.85)} |")
cache_bytes = fnum("token_cache_bytes_per_100k")
if cache_bytes is not None:
    per_entry = cache_bytes / 100_000
    out.append(f"| verified-token cache ≤ 200 bytes per entry (RSS of 100k) | {per_entry:.0f} B | {verdict(per_entry <= 200)} |")
def floor_of(b):
    """Permits ÷ the hash time measured right before and after b's (median)
    login run (the machine drifts); the start-of-run floor for older
    results."""
    before, after = fnum(f"{b}_before_argon2_ms"), fnum(f"{b}_after_argon2_ms")
    permits = fnum("hash_permits")
    if before and after and permits:
        ms = (before + after) / 2
        return permits / ms * 1000, f"{facts.get('hash_permits')} permit ÷ {ms:.1f} ms"
    floor = fnum("argon2_floor_per_s")
    return floor, f"{facts.get('hash_permits')} permit ÷ {facts.get('argon2_ms')} ms"


def hash_threads(b):
    """Where the hash threads' time went in b's median login round."""
    on, waiting, idle = (fnum(f"{b}_hash_threads_{k}_pct") for k in ("on_cpu", "waiting", "idle"))
    if on is None:
        return ""
    return f"; hash threads on a CPU {on:.0f}%, waiting for one {waiting:.0f}%, idle {idle:.0f}%"


for b in backends:
    login = fnum(f"{b}_login_per_s")
    health = fnum(f"{b}_health_p99_ms_during_logins")
    floor, how = floor_of(b)
    rounds = facts.get(f"{b}_login_round_ratios")
    paced = "/api/health paced alongside" if f"{b}_flood_login_per_s" in facts else "/api/health flat out alongside"
    if login is not None and floor:
        spread = f" (median of rounds {rounds.replace(',', ', ')}{hash_threads(b)})" if rounds and "," in rounds else ""
        out.append(
            f"| login ≥ 0.90× the argon2 floor ({how} = "
            f"{floor:.1f}/s), {paced} ({names[b]}) | {login:.1f}/s = {login / floor:.2f}×{spread} | {verdict(login / floor >= 0.90)} |"
        )
    if health is not None:
        out.append(f"| /api/health p99 < 10 ms while logins saturate ({names[b]}) | {health:.2f} ms | {verdict(health < 10)} |")
    flood, flood_health = fnum(f"{b}_flood_login_per_s"), fnum(f"{b}_flood_health_p99_ms_during_logins")
    flood_floor, flood_how = floor_of(f"{b}_flood")
    if flood is not None and flood_floor:
        flood_rounds = facts.get(f"{b}_flood_login_round_ratios", "").replace(",", ", ")
        out.append(
            f"| not a target: login ÷ floor ({flood_how}) with /api/health flat out, and its p99 ({names[b]}) "
            f"| {flood / flood_floor:.2f}× (rounds {flood_rounds}{hash_threads(f'{b}_flood')}), {flood_health:.2f} ms | – |"
        )
for b, goal in (("sqlite", 2000), ("postgres", 1500)):
    v = fnum(f"{b}_refresh_per_s")
    if v is not None:
        out.append(f"| refresh ≥ {goal:,}/s ({names[b]}) | {v:,.0f}/s | {verdict(v >= goal)} |")
for b in backends:
    v = fnum(f"{b}_revocation_revocation_cache_replica_ms_max")
    if v is not None:
        out.append(f"| revocation seen on another replica < 1 s (revocation-cache, {names[b]}, worst of 15) | {v:.1f} ms | {verdict(v < 1000)} |")
out.append("")

out.append("### Revocation latency: a revoked session's access token, refused after…\n")
out.append("| access check | " + " | ".join(f"{names[b]}: same server | {names[b]}: other server" for b in backends) + " |")
out.append("|---|" + "---:|---:|" * len(backends))
for check in ("stateless", "revocation_cache", "session_lookup"):
    cells = []
    for b in backends:
        for where in ("local", "replica"):
            if f"{b}_revocation_{check}_{where}_ms" in facts:
                cells.append("not within 3 s (until `exp`)")
            else:
                med = fnum(f"{b}_revocation_{check}_{where}_ms_median")
                mx = fnum(f"{b}_revocation_{check}_{where}_ms_max")
                cells.append("–" if med is None else f"{med:.1f} ms (max {mx:.1f})")
    out.append(f"| `{check.replace('_', '-')}` | " + " | ".join(cells) + " |")
out.append("")

out.append("### Sizes and memory\n")
out.append("| what | measured |")
out.append("|---|---:|")
def add(label, key, unit=""):
    if key in facts:
        out.append(f"| {label} | {facts[key]}{unit} |")
add("access token (EdDSA JWT)", "access_token_bytes", " B")
add("bytes per authenticated request: `Authorization: Bearer …` header", "bearer_header_bytes", " B")
add("bytes per authenticated request: session `Cookie` header", "session_cookie_header_bytes", " B")
add("extra bytes per unsafe session request (`X-CSRF-Token`)", "session_unsafe_extra_bytes", " B")
for key, label in (
    ("token_cache_bytes_per_100k", "verified-token cache, 100k entries (RSS)"),
    ("revocation_set_bytes_per_100k", "revoked-session set, 100k entries (RSS)"),
    ("sqlite_bytes_per_100k_jwt_sessions", "SQLite, 100k live JWT sessions (row + first refresh token)"),
    ("sqlite_bytes_per_100k_cookie_sessions", "SQLite, 100k live cookie sessions"),
    ("postgres_bytes_per_100k_jwt_sessions", "PostgreSQL, 100k live JWT sessions (row + first refresh token)"),
    ("postgres_bytes_per_100k_cookie_sessions", "PostgreSQL, 100k live cookie sessions"),
):
    v = fnum(key)
    if v is not None:
        out.append(f"| {label} | {v / 1e6:.1f} MB |")
add("argon2id, one hash (m=19456 KiB, t=2, p=1)", "argon2_ms", " ms")
add("argon2id floor (permits ÷ hash time)", "argon2_floor_per_s", "/s")
for b in backends:
    add(f"login/s ({names[b]})", f"{b}_login_per_s")
    add(f"/api/health req/s alongside logins ({names[b]})", f"{b}_health_per_s_during_logins")
    add(f"refresh p99 ({names[b]})", f"{b}_refresh_p99_ms", " ms")
out.append("")
print("\n".join(out))
