# Latchkey — the two commands of the README, and the set-up both need.
#
#   make run    installs what is missing, then serves http://localhost:3000 on SQLite
#   make test   installs what is missing, then runs every test (Rust + Playwright)
#
# Set-up is idempotent: each step checks before it installs.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

CARGO_LEPTOS_VERSION := 0.3.10
WASM_BINDGEN_VERSION := 0.2.130
CARGO_FUZZ_VERSION := 0.13.2

export PATH := $(HOME)/.cargo/bin:$(CURDIR)/end2end/node_modules/.bin:$(PATH)
# cargo-leptos bakes this in at compile time; plain cargo must agree or every
# switch between the two rebuilds leptos and all that depends on it.
export LEPTOS_OUTPUT_NAME := latchkey

TARGET_DIR := $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)

.PHONY: help run test bench release test-release setup setup-rust setup-browser setup-node test-rust test-e2e test-api test-fuzz setup-fuzz build fmt lint

help:
	@echo "make run   - serve the app on http://localhost:3000 (SQLite under data/)"
	@echo "make test  - run every test (Rust on SQLite and PostgreSQL, Playwright in Chromium, schemathesis)"
	@echo "make release - target/release/latchkey and target/site (hashed, brotli + gzip)"
	@echo "make bench - the benchmark suite: tables in server/benches/results/summary.md, chart load.svg"

# Browsers want a domain name for passkeys, so the app is served as localhost.
run: setup-rust
	LATCHKEY_PUBLIC_ORIGIN="$${LATCHKEY_PUBLIC_ORIGIN:-http://localhost:3000}" cargo leptos serve

test: setup setup-browser test-rust test-e2e test-api test-fuzz test-release

bench: setup-rust
	server/benches/run.sh

test-rust:
	cargo test --workspace --exclude frontend

build:
	cargo leptos build

# What to deploy: the release server and the site, hashed and precompressed,
# the WASM split so that a first visit loads only what the home page needs
# (app's lazy pages are chunks of their own: `split` on both sides).
release: setup-rust setup-node
	cargo leptos build --release --precompress --split --features split

# The release build in the browser: split WASM, hashed files, lazy pages
# hydrated from their chunks (the shell, sign-in, page and admin specs).
test-release: release setup-browser
	cd end2end && LATCHKEY_BIN="$(TARGET_DIR)/release/latchkey" LEPTOS_SITE_ROOT="$(CURDIR)/target/site" \
		npx playwright test --project=jwt --project=session tests/shell.spec.ts tests/auth.spec.ts tests/pages.spec.ts tests/admin.spec.ts

test-e2e: build
	cd end2end && LATCHKEY_BIN="$(TARGET_DIR)/debug/latchkey" LEPTOS_SITE_ROOT="$(CURDIR)/target/site" npx playwright test

# schemathesis (from PyPI, into a virtualenv under ~/.cache) against a live
# server's /api/openapi.json, signed out and signed in, SQLite and PostgreSQL.
test-api:
	cargo build -p latchkey
	LATCHKEY_BIN="$(TARGET_DIR)/debug/latchkey" server/tests/api/run.sh

# cargo fuzz (libFuzzer, stable Rust without a sanitizer): 30 s per target;
# LATCHKEY_FUZZ_SECS=3600 server/fuzz/run.sh for a long run.
test-fuzz: setup-fuzz
	CARGO_TARGET_DIR="$(TARGET_DIR)" server/fuzz/run.sh

# Only the tests need it, not `make run`.
setup-fuzz:
	@cargo fuzz --version 2>/dev/null | grep -q "$(CARGO_FUZZ_VERSION)" || \
		{ echo "installing cargo-fuzz $(CARGO_FUZZ_VERSION) (about 3 minutes, once)"; \
		  cargo install cargo-fuzz@$(CARGO_FUZZ_VERSION) --locked; }

# What both commands need; Chromium (and its desktop stack) only for tests.
setup: setup-rust setup-node

setup-rust:
	@pkg-config --exists openssl 2>/dev/null || \
		{ echo "installing OpenSSL headers for webauthn-rs (Debian libssl-dev)"; \
		  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libssl-dev pkg-config; }
	@rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
	@cargo leptos --version 2>/dev/null | grep -q "$(CARGO_LEPTOS_VERSION)" || \
		{ echo "installing cargo-leptos $(CARGO_LEPTOS_VERSION) (about 20 minutes, once)"; \
		  cargo install cargo-leptos@$(CARGO_LEPTOS_VERSION) --locked; }
	@wasm-bindgen --version 2>/dev/null | grep -q "$(WASM_BINDGEN_VERSION)" || \
		{ echo "installing wasm-bindgen-cli $(WASM_BINDGEN_VERSION) (about 5 minutes, once)"; \
		  cargo install wasm-bindgen-cli@$(WASM_BINDGEN_VERSION) --force; }

setup-node:
	@command -v npm >/dev/null || { apt-get update -qq && apt-get install -y -qq nodejs npm; }
	@if [ ! -x end2end/node_modules/.bin/playwright ] || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then \
		cd end2end && npm ci --no-audit --no-fund; fi

setup-browser:
	@[ -x /usr/bin/chromium ] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

fmt:
	cargo fmt --all

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --exclude frontend --all-targets -- -D warnings
