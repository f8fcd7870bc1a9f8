#!/usr/bin/env bash
# schemathesis against a live Latchkey, from the server's own
# /api/openapi.json: signed out, signed in with a Bearer token (as an
# administrator) and signed in with a session cookie (as a user), on SQLite
# and on PostgreSQL. Any failed check fails the run.
#
#   LATCHKEY_BIN           the server binary (required)
#   TEST_POSTGRES_URL      PostgreSQL to create a scratch database in
#                          (default postgres://postgres@127.0.0.1:5432/postgres;
#                          unreachable: the PostgreSQL half is skipped, unless
#                          LATCHKEY_REQUIRE_POSTGRES=1, as in CI)
#   LATCHKEY_FUZZ_EXAMPLES cases per operation and phase (default 40)
#   LATCHKEY_FUZZ_SEED     hypothesis seed (default fixed, so `make test` is
#                          repeatable; "random" for a new one each run)
#
# A longer, exploring run: LATCHKEY_FUZZ_EXAMPLES=500 LATCHKEY_FUZZ_SEED=random make test-api
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
bin="${LATCHKEY_BIN:?set LATCHKEY_BIN to the latchkey binary}"
examples="${LATCHKEY_FUZZ_EXAMPLES:-40}"
seed="${LATCHKEY_FUZZ_SEED:-20261127}"
pg_admin_url="${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

# The fuzzer lives in a virtualenv outside the clone, keyed by its pins.
tools="${LATCHKEY_TOOLS_DIR:-$HOME/.cache/latchkey-tools}"
venv="$tools/schemathesis-$(sha256sum "$here/requirements.txt" | cut -c1-12)"
if [ ! -x "$venv/bin/st" ]; then
  echo "installing schemathesis into $venv (once)"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
fi

work="$(mktemp -d)"
server_pid=""
pg_db=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  [ -n "$pg_db" ] && psql -q "$pg_admin_url" -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

admin_email="fuzz-admin@example.com"
user_email="fuzz-user@example.com"
password="fuzzing-the-quiet-latchkey-api"

# Starts the server on $1 (a database URL) and creates the two accounts.
start_server() {
  local database_url="$1" port
  port="$(free_port)"
  export DATABASE_URL="$database_url"
  export LEPTOS_SITE_ADDR="127.0.0.1:$port"
  # localhost, not the address: passkeys (WebAuthn) need a domain name.
  export LATCHKEY_PUBLIC_ORIGIN="http://localhost:$port"
  export LATCHKEY_COOKIE_SECURE=false
  # The limits would turn most of the run into 429s (they have tests of
  # their own); raised so the fuzzer reaches the handlers behind them.
  export LATCHKEY_RATE_ADDRESS_PER_MIN=1000000
  export LATCHKEY_RATE_REFRESH_PER_MIN=1000000
  export LATCHKEY_RATE_MAIL_PER_HOUR=1000000
  export LATCHKEY_RATE_ACCOUNT_FAILURES=1000000
  # Mails go to files in the scratch folder; the signing keys' sealing key too.
  export LATCHKEY_MAIL_DIR="$work/mail"
  export LATCHKEY_KEY_ENCRYPTION_KEY_FILE="$work/keys.secret"
  export RUST_LOG="${RUST_LOG:-warn}"
  "$bin" migrate >/dev/null
  printf '%s' "$password" | "$bin" user create --email "$admin_email" --role admin >/dev/null
  printf '%s' "$password" | "$bin" user create --email "$user_email" >/dev/null
  "$bin" serve >"$work/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$port/api/health" >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -fs "http://127.0.0.1:$port/api/health" >/dev/null || { cat "$work/server.log"; echo "the server did not start" >&2; exit 1; }
  export LATCHKEY_FUZZ_URL="http://127.0.0.1:$port"
}

stop_server() {
  kill "$server_pid" && wait "$server_pid" || true
  server_pid=""
  # A panic is a failure even if every response looked fine.
  if grep -q "panicked" "$work/server.log"; then
    grep -B2 -A10 "panicked" "$work/server.log" >&2
    echo "the server panicked during the run" >&2
    exit 1
  fi
}

# One schemathesis pass: $1 = backend label, $2 = anonymous|bearer|session.
fuzz() {
  local backend="$1" as="$2" email=""
  case "$as" in
    bearer) email="$admin_email" ;;
    session) email="$user_email" ;;
  esac
  echo "== schemathesis: $backend, signed in as: $as"
  seed_flag=(--seed "$seed")
  [ "$seed" = random ] && seed_flag=()
  # From the scratch directory: schemathesis keeps a cache in the working one.
  (cd "$work" && LATCHKEY_FUZZ_AS="$as" LATCHKEY_FUZZ_EMAIL="$email" LATCHKEY_FUZZ_PASSWORD="$password" \
    LATCHKEY_FUZZ_SESSION_COOKIE="latchkey-session" LATCHKEY_FUZZ_HOOKS="$here/hooks.py" \
    "$venv/bin/st" --config-file "$here/schemathesis.toml" run "$LATCHKEY_FUZZ_URL/api/openapi.json" \
    --max-examples "$examples" "${seed_flag[@]}" --no-color --request-timeout 15)
}

start_server "sqlite://$work/fuzz.db"
for as in anonymous bearer session; do fuzz SQLite "$as"; done
stop_server

if psql -q "$pg_admin_url" -c 'SELECT 1' >/dev/null 2>&1; then
  pg_db="latchkey_fuzz_$$"
  psql -q "$pg_admin_url" -c "CREATE DATABASE $pg_db" >/dev/null
  start_server "${pg_admin_url%/*}/$pg_db"
  for as in anonymous bearer session; do fuzz PostgreSQL "$as"; done
  stop_server
elif [ "${LATCHKEY_REQUIRE_POSTGRES:-0}" = 1 ]; then
  echo "PostgreSQL at $pg_admin_url is required but unreachable" >&2
  exit 1
else
  echo "PostgreSQL unreachable: its half of the API fuzzing was skipped" >&2
fi
echo "schemathesis: every pass clean"
