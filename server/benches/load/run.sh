#!/usr/bin/env bash
# HTTP load numbers for Latchkey with wrk: baseline (JWKS), GET /api/me with
# 1,000 distinct Bearer tokens under each LATCHKEY_ACCESS_CHECK setting and
# with 1,000 distinct session cookies, login/s and refresh/s. Starts release
# servers of its own on a fresh SQLite file (or DATABASE_URL if set).
#
#   server/benches/load/run.sh            # from the repository root
#   DURATION=20s CONNECTIONS=64 server/benches/load/run.sh
set -euo pipefail
cd "$(dirname "$0")/../../.."

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --release -p latchkey --bin latchkey >&2
BIN="$CARGO_TARGET_DIR/release/latchkey"

DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-32}"
THREADS="${THREADS:-2}"
PORT="${PORT:-3390}"
BASE="http://127.0.0.1:$PORT"
export LOAD_DIR="$(mktemp -d)"
SERVER=""
trap '[ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; rm -rf "$LOAD_DIR"' EXIT

export DATABASE_URL="${DATABASE_URL:-sqlite://$LOAD_DIR/load.db}"

# Starts the server with extra settings (NAME=value …) and waits for it.
start() {
  env LEPTOS_SITE_ADDR="127.0.0.1:$PORT" \
    LATCHKEY_RATE_ADDRESS_PER_MIN=100000000 \
    LATCHKEY_RATE_ACCOUNT_FAILURES=100000000 \
    LATCHKEY_MAX_SESSIONS=1000 \
    RUST_LOG=error \
    "$@" "$BIN" serve &
  SERVER=$!
  for _ in $(seq 1 100); do curl -sf "$BASE/api/health" >/dev/null && break; sleep 0.1; done
}
stop() { kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; }

row() { # name, wrk output
  local rps p50 p99
  rps=$(grep -E "^Requests/sec" <<<"$2" | awk '{print $2}')
  p50=$(grep -E "^ +50%" <<<"$2" | awk '{print $2}')
  p99=$(grep -E "^ +99%" <<<"$2" | awk '{print $2}')
  printf "| %-46s | %10s | %8s | %8s |\n" "$1" "$rps" "$p50" "$p99"
  grep -E "Non-2xx|Socket errors" <<<"$2" | sed 's/^/    /' >&2 || true
}
load() { wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$@"; }

start LATCHKEY_ACCESS_CHECK=revocation-cache
python3 server/benches/load/seed.py "$BASE" "${USERS:-100}" "${SESSIONS:-10}" "$LOAD_DIR"

echo "| route | req/s | p50 | p99 |"
echo "|---|---:|---:|---:|"
row "GET /.well-known/jwks.json (baseline)" "$(load "$BASE/.well-known/jwks.json")"
row "GET /api/me, Bearer, revocation-cache" "$(load -s server/benches/load/me.lua "$BASE")"
row "GET /api/me, session cookie" "$(load -s server/benches/load/me_cookie.lua "$BASE")"
row "POST /api/auth/login" "$(wrk -t"$THREADS" -c"${LOGIN_CONNECTIONS:-4}" -d"$DURATION" --latency -s server/benches/load/login.lua "$BASE")"
row "POST /api/auth/refresh" "$(wrk -t16 -c16 -d"$DURATION" --latency -s server/benches/load/refresh.lua "$BASE")"
stop

# The other access checks, each on a server of its own over the same data.
for check in stateless session-lookup; do
  start LATCHKEY_ACCESS_CHECK=$check
  row "GET /.well-known/jwks.json (baseline, again)" "$(load "$BASE/.well-known/jwks.json")"
  row "GET /api/me, Bearer, $check" "$(load -s server/benches/load/me.lua "$BASE")"
  stop
done
