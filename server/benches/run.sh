#!/usr/bin/env bash
# Latchkey's benchmark suite, one command (`make bench`):
#
#   1. facts about this machine and the data structures (latchkey-facts):
#      the argon2id floor, memory per 100k cached tokens / revoked sessions,
#      database bytes per 100k live sessions, credential sizes;
#   2. HTTP load with wrk (load/run.sh) on SQLite and, when reachable, on
#      PostgreSQL: the baseline, GET /api/me under every access check and
#      with session cookies, login/s with /api/health alongside, refresh/s,
#      revocation latency per access check;
#   3. results/summary.md (the tables the README shows, with each target)
#      and results/load.svg (the chart).
#
#   4. results/request.md: the whole router in process, one request at a
#      time, per access check (criterion, `--bench request`).
#
# The pieces in isolation are criterion's: cargo bench -p latchkey-bench.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
RESULTS=server/benches/results
mkdir -p "$RESULTS"

cargo build --release -p latchkey --bin latchkey -p latchkey-bench --bins >&2
PG_ADMIN="${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
if psql "$PG_ADMIN" -qAtc 'SELECT 1' >/dev/null 2>&1; then HAVE_PG=1; else HAVE_PG=0; fi

echo "== facts" >&2
if [ "$HAVE_PG" = 1 ]; then export FACTS_POSTGRES_URL="$PG_ADMIN"; fi
"$CARGO_TARGET_DIR/release/latchkey-facts" >"$RESULTS/facts.txt"
cat "$RESULTS/facts.txt" >&2

echo "backend,scenario,rps,p50_ms,p99_ms,ratio" >"$RESULTS/load.csv"
echo "== load: SQLite" >&2
DATABASE_URL= server/benches/load/run.sh sqlite "$RESULTS/load.csv" "$RESULTS/facts.txt"
if [ "$HAVE_PG" = 1 ]; then
  echo "== load: PostgreSQL" >&2
  db="latchkey_bench_$$"
  psql "$PG_ADMIN" -qc "CREATE DATABASE $db"
  trap 'psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS '"$db"' WITH (FORCE)" >/dev/null 2>&1 || true' EXIT
  DATABASE_URL="${PG_ADMIN%/*}/$db" server/benches/load/run.sh postgres "$RESULTS/load.csv" "$RESULTS/facts.txt"
else
  echo "== PostgreSQL unreachable at $PG_ADMIN: SQLite only" >&2
fi

echo "== in process: one request at a time through the router (criterion)" >&2
cargo bench -p latchkey-bench --bench request -- --noplot >&2
python3 server/benches/criterion_table.py "$CARGO_TARGET_DIR/criterion" request >"$RESULTS/request.md"

"$CARGO_TARGET_DIR/release/latchkey-chart" "$RESULTS/load.csv" "$RESULTS/load.svg" >&2
python3 server/benches/report.py "$RESULTS" >"$RESULTS/summary.md"
cat "$RESULTS/summary.md"
