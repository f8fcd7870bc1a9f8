#!/usr/bin/env bash
# Coverage-guided fuzzing (cargo fuzz, libFuzzer) of the token verifier and
# the request-credential parsers. Stable Rust: `-s none` (no sanitizer; the
# targets are safe Rust, what is sought is a panic or a broken promise).
#
#   server/fuzz/run.sh            each target for LATCHKEY_FUZZ_SECS (30 s)
#   LATCHKEY_FUZZ_SECS=3600 server/fuzz/run.sh access_token   a long run
#
# Seeds come from seeds/<target>/; what a run finds new goes to a scratch
# corpus, and a failing input to server/fuzz/artifacts/<target>/ (kept).
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${LATCHKEY_FUZZ_SECS:-30}"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(access_token request_credentials)
target_dir="${CARGO_TARGET_DIR:-$PWD/../target}/fuzz"
corpus="$(mktemp -d)"
trap 'rm -rf "$corpus"' EXIT
for target in "${targets[@]}"; do
  mkdir -p "$corpus/$target"
  cp fuzz/seeds/"$target"/* "$corpus/$target/"
  echo "== cargo fuzz: $target for ${secs}s"
  log="$corpus/$target.log"
  if ! cargo fuzz run --dev -s none --target-dir "$target_dir" "$target" "$corpus/$target" -- \
      -max_total_time="$secs" -print_final_stats=1 >"$log" 2>&1; then
    tail -40 "$log" >&2
    echo "cargo fuzz: $target failed; the input is under server/fuzz/artifacts/$target/" >&2
    exit 1
  fi
  grep -E "^Done [0-9]+ runs|^stat::(new_units_added|peak_rss_mb)" "$log" || true
done
