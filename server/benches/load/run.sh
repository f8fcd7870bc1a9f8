#!/usr/bin/env bash
# HTTP load on one backend with wrk, against release servers this script
# starts (and stops) itself. Normally run by server/benches/run.sh, which
# builds, runs it for SQLite and PostgreSQL and draws the chart.
#
#   server/benches/load/run.sh <label> <csv-out> <facts-out>
#   (DATABASE_URL: the database; default a fresh SQLite file)
#
# CSV rows: backend,scenario,rps,p50_ms,p99_ms,ratio — every ratio is to
# the baseline (GET /.well-known/jwks.json) measured by the same server
# right before and right after the scenario, since absolute numbers drift
# on shared machines; a scenario's row is the median of its rounds
# (`measure`), and every baseline run is a row of its own. Facts
# (login, refresh, /api/health under login load, revocation latency) go
# to <facts-out> as name=value lines.
set -euo pipefail
cd "$(dirname "$0")/../../.."

LABEL="$1"
CSV="$2"
FACTS="$3"
BIN="${CARGO_TARGET_DIR:-$PWD/target}/release/latchkey"
[ -x "$BIN" ] || { echo "build first: cargo build --release -p latchkey" >&2; exit 1; }
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }

DURATION="${DURATION:-10s}"
# Each GET scenario: this many rounds of ROUND_DURATION, each between two
# baseline runs.
SCENARIO_ROUNDS="${SCENARIO_ROUNDS:-5}"
ROUND_DURATION="${ROUND_DURATION:-6s}"
CONNECTIONS="${CONNECTIONS:-32}"
THREADS="${THREADS:-2}"
PORT="${PORT:-3390}"
BASE="http://127.0.0.1:$PORT"
REPLICA_BASE="http://127.0.0.1:$((PORT + 1))"
export LOAD_DIR="$(mktemp -d)"
SERVERS=()
cleanup() {
  for pid in "${SERVERS[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$LOAD_DIR"
}
trap cleanup EXIT
export DATABASE_URL="${DATABASE_URL:-sqlite://$LOAD_DIR/load.db}"

# start PORT NAME=value… : a server with extra settings, once it answers.
start() {
  local port="$1"
  shift
  env LEPTOS_SITE_ADDR="127.0.0.1:$port" \
    LATCHKEY_PUBLIC_ORIGIN="http://127.0.0.1:$PORT" \
    LATCHKEY_RATE_ADDRESS_PER_MIN=100000000 \
    LATCHKEY_RATE_REFRESH_PER_MIN=100000000 \
    LATCHKEY_RATE_ACCOUNT_FAILURES=100000000 \
    LATCHKEY_MAX_SESSIONS=1000 \
    RUST_LOG=error \
    "$@" "$BIN" serve &
  SERVERS+=($!)
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/api/health" >/dev/null && return; sleep 0.1; done
  echo "the server on $port did not start" >&2
  exit 1
}
stop_all() {
  for pid in "${SERVERS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  SERVERS=()
}

# ms from wrk's "1.53ms" / "342.00us" / "1.20s".
ms() { awk '{v=$1; if (v ~ /us$/) {sub(/us$/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v*=1000}; printf "%.3f", v}' <<<"$1"; }
field() { grep -E "$1" <<<"$2" | awk '{print $2}'; }
# wrk_row NAME WRK-OUTPUT RATIO : one CSV row.
wrk_row() {
  printf "%s,%s,%s,%s,%s,%s\n" "$LABEL" "$1" "$(field '^Requests/sec' "$2")" \
    "$(ms "$(field '^ +50%' "$2")")" "$(ms "$(field '^ +99%' "$2")")" "$3" >>"$CSV"
}
load() {
  local out
  out="$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$ROUND_DURATION" --latency "$@")"
  grep -E "Socket errors" <<<"$out" | sed "s|^|  [$*] |" >&2 || true
  # Every one of these requests should succeed: a rate of refusals (an
  # expired token, say) measures nothing.
  if grep -E "Non-2xx" <<<"$out" | sed "s|^|  [$*] |" >&2; then
    echo "load: refused requests in a measured run; its numbers are not kept" >&2
    return 1
  fi
  echo "$out"
}
# One GET script for the baseline and every scenario (see get.lua).
GET=server/benches/load/get.lua
baseline() { load -s "$GET" "$BASE" -- /.well-known/jwks.json; }
# measure SCENARIO WRK-ARGS… : SCENARIO_ROUNDS rounds of the scenario, each
# between two runs of the baseline, since the machine's speed drifts; a
# round's ratio is to the mean of the two baselines around it. The CSV row
# is the median round's (by ratio); every round's ratio goes to the facts.
# Scenario names have no commas.
measure() {
  local scenario="$1"
  shift
  local before after base ratio median
  : >"$LOAD_DIR/rounds.tsv"
  before="$(baseline)"
  for round in $(seq 1 "$SCENARIO_ROUNDS"); do
    load "$@" >"$LOAD_DIR/round_$round.txt"
    after="$(baseline)"
    wrk_row "baseline" "$before" "1.000"
    base="$(awk -v a="$(field '^Requests/sec' "$before")" -v b="$(field '^Requests/sec' "$after")" 'BEGIN {printf "%.2f", (a + b) / 2}')"
    ratio="$(awk -v a="$(field '^Requests/sec' "$(cat "$LOAD_DIR/round_$round.txt")")" -v b="$base" 'BEGIN {printf "%.3f", a / b}')"
    printf "%s\t%s\n" "$ratio" "$round" >>"$LOAD_DIR/rounds.tsv"
    echo "  $scenario, round $round: ${ratio}× (baseline $base req/s)" >&2
    before="$after"
  done
  wrk_row "baseline" "$before" "1.000"
  median="$(sort -n "$LOAD_DIR/rounds.tsv" | sed -n "$(((SCENARIO_ROUNDS + 1) / 2))p")"
  wrk_row "$scenario" "$(cat "$LOAD_DIR/round_${median#*$'\t'}.txt")" "${median%%$'\t'*}"
  fact "rounds:$scenario" "$(cut -f1 "$LOAD_DIR/rounds.tsv" | paste -sd,)"
}
fact() { echo "${LABEL}_$1=$2" >>"$FACTS"; }
me() { measure "$1" -s "$GET" "$BASE" -- /api/me Authorization "Bearer " tokens.txt; }

echo "[$LABEL] seeding" >&2
start "$PORT" LATCHKEY_ACCESS_CHECK=revocation-cache
python3 server/benches/load/seed.py "$BASE" "${USERS:-100}" "${SESSIONS:-11}" "$LOAD_DIR"
# The baseline route warms up (the database settles after seeding: WAL
# checkpoints, autovacuum); the authenticated path does not: its caches
# start empty on a fresh server and 1,084 access tokens are minted just
# before the run, none of them seen by the server's token cache.
stop_all
start "$PORT" LATCHKEY_ACCESS_CHECK=revocation-cache
baseline >/dev/null
python3 server/benches/load/mint.py "$BASE" "$LOAD_DIR"

me "/api/me Bearer revocation-cache"
measure "/api/me session cookie" -s "$GET" "$BASE" -- /api/me Cookie "__Host-latchkey-session=" session_cookies.txt

# Login against the argon2 floor, with /api/health measured alongside: the
# hashes must not starve other requests. The floor is measured right before
# and right after each login run, like the baseline; the hash time moves by
# a quarter from one minute to the next on shared machines, so there are
# several rounds and the facts are the median round's (by login ÷ floor),
# with every round's ratio and the worst health p99 beside them.
#
# /api/health is paced for the target (HEALTH_PACE_MS between requests on
# each of 2 connections, ~400/s: far more than any monitor sends). With it
# flat out as well (LOGIN_FLOOD_ROUNDS), wrk and the server's async workers
# keep both cores busy and the kernel shares them with the hash thread:
# login ÷ floor then measures that share, not the server. So every round
# also says where the hash threads' time went (/proc/…/schedstat): on a
# CPU, waiting for one (the kernel ran something else), or idle (waiting
# for work: the server's own overhead between hashes).
FACTS_BIN="$(dirname "$BIN")/latchkey-facts"
argon2_ms() { "$FACTS_BIN" argon2 | awk -F= '$1 == "argon2_ms" {print $2}'; }
# ns on a CPU and ns waiting for one, summed over the server's hash threads.
hash_threads() {
  local pid="$1" on=0 wait=0 comm task a b
  for comm in /proc/"$pid"/task/*/comm; do
    [[ "$(cat "$comm")" == argon2-* ]] || continue
    task="${comm%/comm}"
    read -r a b _ <"$task/schedstat"
    on=$((on + a)) wait=$((wait + b))
  done
  echo "$on $wait"
}
# login_rounds FACT-PREFIX ROUNDS HEALTH-WRK-ARGS… : ROUNDS rounds of logins
# with /api/health requested by `wrk HEALTH-WRK-ARGS` alongside.
login_rounds() {
  local prefix="$1" rounds="$2" pid="${SERVERS[0]}" before after login health on0 wait0 on1 wait1 t0 t1
  shift 2
  : >"$LOAD_DIR/login_rounds.tsv"
  for _ in $(seq 1 "$rounds"); do
    before="$(argon2_ms)"
    read -r on0 wait0 < <(hash_threads "$pid")
    t0="$(date +%s%N)"
    wrk -t1 -c2 -d"$DURATION" --latency "$@" >"$LOAD_DIR/health.txt" &
    HEALTH=$!
    login="$(wrk -t"$THREADS" -c"${LOGIN_CONNECTIONS:-4}" -d"$DURATION" --latency -s server/benches/load/login.lua "$BASE")"
    read -r on1 wait1 < <(hash_threads "$pid")
    t1="$(date +%s%N)"
    wait "$HEALTH"
    after="$(argon2_ms)"
    health="$(cat "$LOAD_DIR/health.txt")"
    if grep -E "Non-2xx" <<<"$login$health" >&2; then
      echo "login: refused requests in a measured run; its numbers are not kept" >&2
      return 1
    fi
    printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n" "$before" "$after" "$(field '^Requests/sec' "$login")" \
      "$(ms "$(field '^ +99%' "$login")")" "$(field '^Requests/sec' "$health")" "$(ms "$(field '^ +99%' "$health")")" \
      "$((on1 - on0))" "$((wait1 - wait0))" "$((t1 - t0))" >>"$LOAD_DIR/login_rounds.tsv"
  done
  python3 - "$LOAD_DIR/login_rounds.tsv" "$LABEL$prefix" "${permits:-1}" >>"$FACTS" <<'PY'
import sys
permits = float(sys.argv[3])  # the server's hash permits, as the floor counts them
# before after login/s login-p99 health/s health-p99 hash-on-cpu-ns hash-waiting-ns wall-ns, a line per round.
rows = [[float(v) for v in line.split("\t")] for line in open(sys.argv[1]) if line.strip()]
ratio = lambda r: r[2] / (1000 * permits / ((r[0] + r[1]) / 2))
ranked = sorted(rows, key=ratio)
median = ranked[len(ranked) // 2]
label = sys.argv[2]
for name, value in zip(
    ("before_argon2_ms", "after_argon2_ms", "login_per_s", "login_p99_ms", "health_per_s_during_logins"), median
):
    print(f"{label}_{name}={value}")
on, waiting, wall = median[6], median[7], median[8] * permits
if on > 0:
    print(f"{label}_hash_threads_on_cpu_pct={100 * on / wall:.1f}")
    print(f"{label}_hash_threads_waiting_pct={100 * waiting / wall:.1f}")
    print(f"{label}_hash_threads_idle_pct={100 * (wall - on - waiting) / wall:.1f}")
print(f"{label}_health_p99_ms_during_logins={max(r[5] for r in rows)}")
print(f"{label}_login_round_ratios={','.join(f'{ratio(r):.2f}' for r in rows)}")
PY
}
permits="$(awk -F= '$1 == "hash_permits" {print $2}' "$FACTS")"
export PACE_MS="${HEALTH_PACE_MS:-5}"
login_rounds "" "${LOGIN_ROUNDS:-5}" -s "$GET" "$BASE" -- /api/health
unset PACE_MS
login_rounds "_flood" "${LOGIN_FLOOD_ROUNDS:-3}" "$BASE/api/health"
# The refresh run rotates 16 sessions of its own: set aside, so no later
# mint.py sends one of their spent cookies (that is reuse, and revokes them).
tail -n 16 "$LOAD_DIR/cookies.txt" >"$LOAD_DIR/refresh_cookies.txt"
head -n -16 "$LOAD_DIR/cookies.txt" >"$LOAD_DIR/cookies.left" && mv "$LOAD_DIR/cookies.left" "$LOAD_DIR/cookies.txt"
refresh="$(wrk -t16 -c16 -d"$DURATION" --latency -s server/benches/load/refresh.lua "$BASE")"
grep -E "Non-2xx|Socket errors" <<<"$refresh" | sed 's|^|  [refresh] |' >&2 || true
fact refresh_per_s "$(field '^Requests/sec' "$refresh")"
fact refresh_p99_ms "$(ms "$(field '^ +99%' "$refresh")")"
stop_all

# Each other access check on a server of its own over the same data, with
# its own baseline; the last also without the verified-token cache.
for setting in "stateless" "session-lookup" "stateless LATCHKEY_TOKEN_CACHE_ENTRIES=0"; do
  check="${setting%% *}"
  extra=()
  name="/api/me Bearer $check"
  if [ "$setting" != "$check" ]; then
    extra=("${setting#* }")
    name="$name without token cache"
  fi
  start "$PORT" LATCHKEY_ACCESS_CHECK="$check" "${extra[@]}"
  # Tokens live LATCHKEY_ACCESS_TTL_SECS (5 min), less than the run so far.
  python3 server/benches/load/mint.py "$BASE" "$LOAD_DIR"
  me "$name"
  stop_all
done

# Revocation latency per access check: revoke on one server, watch the
# token there and on a second server over the same database.
for check in stateless revocation-cache session-lookup; do
  start "$PORT" LATCHKEY_ACCESS_CHECK="$check"
  start "$((PORT + 1))" LATCHKEY_ACCESS_CHECK="$check"
  python3 server/benches/load/revocation.py "$BASE" "$REPLICA_BASE" "$check" | sed "s/^/${LABEL}_/" >>"$FACTS"
  stop_all
done
