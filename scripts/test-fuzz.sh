#!/usr/bin/env bash
# The fuzz suite (issue 21): builds every cargo-fuzz target of tests/fuzz (libFuzzer, a nightly
# compiler) and runs each for a bounded time with a fixed seed, from its committed corpus
# (tests/fuzz/corpus/<target>/, read only: what a run finds goes to a scratch directory), with a
# memory limit and a per-input time limit. A target passes when libFuzzer finds no crash, panic,
# timeout or excess memory. A failing input is kept under tests/fuzz/artifacts/<target>/
# (CONTRIBUTING.md, "Fuzzing": how to reproduce it and turn it into a test).
# Ends with "suite: N passed, M failed" (N, M: targets).
#   FUZZ_SECONDS   seconds per target (default 20)      FUZZ_SEED     libFuzzer's -seed (default 20261206)
#   FUZZ_RSS_MB    memory limit per target (default 1024) FUZZ_TIMEOUT_S  one input's limit (default 10)
#   FUZZ_TARGETS   the targets to run (default: every file of tests/fuzz/fuzz_targets)
#   FUZZ_TOOLCHAIN the nightly toolchain (default: nightly)
#   FUZZ_LANES     targets fuzzed at once, each on one core (default: the machine's cores)
# `scripts/test-fuzz.sh --build-only` builds the targets and stops (scripts/test-all.sh starts it
# in the background first; this script's own build is then a no-op, or waits on cargo's lock).
set -uo pipefail
cd "$(dirname "$0")/.."
# scripts/test-all.sh lints its build through stable's clippy-driver; the nightly compiler here
# takes no wrapper of another toolchain
unset RUSTC_WORKSPACE_WRAPPER CLIPPY_ARGS
ROOT=$(pwd)
SECONDS_PER_TARGET="${FUZZ_SECONDS:-20}"
SEED="${FUZZ_SEED:-20261206}"
RSS_MB="${FUZZ_RSS_MB:-1024}"
TIMEOUT_S="${FUZZ_TIMEOUT_S:-10}"
TOOLCHAIN="${FUZZ_TOOLCHAIN:-nightly}"
FUZZ_DIR=tests/fuzz
# No sanitizer: the code under test is safe Rust (SQLite is C and not instrumented either way), and
# without ASan a target runs about twice as many inputs in its time. Debug assertions and overflow
# checks stay on (cargo-fuzz's default). 16 codegen units: the build takes minutes less on CI's two
# cores. `cargo fuzz run` is given the same flags, so it reuses this build.
FLAGS=(--fuzz-dir "$FUZZ_DIR" --sanitizer none --dev)

fail() {
  echo "test-fuzz: $*" >&2
  echo "suite: 0 passed, 1 failed"
  exit 1
}

cargo fuzz --version >/dev/null 2>&1 || fail "cargo-fuzz is missing: run .ci/install-tools"
rustup run "$TOOLCHAIN" rustc --version >/dev/null 2>&1 || fail "no $TOOLCHAIN toolchain: run .ci/install-tools"

if [ -n "${FUZZ_TARGETS:-}" ]; then
  read -ra targets <<<"$FUZZ_TARGETS"
else
  targets=()
  for f in "$FUZZ_DIR"/fuzz_targets/*.rs; do targets+=("$(basename "$f" .rs)"); done
fi

echo "== build the fuzz targets (cargo +$TOOLCHAIN fuzz build)"
nice -n 5 cargo "+$TOOLCHAIN" fuzz build "${FLAGS[@]}" >&2 || fail "the fuzz targets do not build"
[ "${1:-}" = --build-only ] && exit 0

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# One target per core at once: libFuzzer runs one input at a time, so lanes halve the wall time
# on two cores without changing what each target runs (its own seed, time and limits).
LANES="${FUZZ_LANES:-$(nproc 2>/dev/null || echo 1)}"
[ "$LANES" -ge 1 ] 2>/dev/null || LANES=1

fuzz_one() {
  local t=$1 seeds="$FUZZ_DIR/corpus/$1"
  if ! [ -d "$seeds" ] || [ -z "$(ls -A "$seeds")" ]; then
    echo "no seed corpus in $seeds" >"$WORK/$t/log"; echo 1 >"$WORK/$t/rc"; return
  fi
  # new inputs go to the scratch directory (first); the committed seeds are only read
  TMPDIR="$WORK/$t/tmp" cargo "+$TOOLCHAIN" fuzz run "${FLAGS[@]}" "$t" "$WORK/$t/found" "$seeds" -- \
    -max_total_time="$SECONDS_PER_TARGET" -seed="$SEED" -rss_limit_mb="$RSS_MB" \
    -timeout="$TIMEOUT_S" -artifact_prefix="$WORK/$t/artifacts/" -print_final_stats=1 >"$WORK/$t/log" 2>&1
  echo $? >"$WORK/$t/rc"
}

for t in "${targets[@]}"; do
  mkdir -p "$WORK/$t/found" "$WORK/$t/artifacts" "$WORK/$t/tmp"
  while [ "$(jobs -rp | wc -l)" -ge "$LANES" ]; do wait -n; done
  fuzz_one "$t" &
done
wait

passed=0; failed=0
for t in "${targets[@]}"; do
  rc=$(cat "$WORK/$t/rc" 2>/dev/null || echo 1)
  echo "== fuzz $t for ${SECONDS_PER_TARGET}s (seed $SEED, ${RSS_MB} MB, ${TIMEOUT_S}s per input)"
  grep -E '^#[0-9]+ *DONE|stat::number_of_executed_units|stat::peak_rss_mb' "$WORK/$t/log" | tr '\n' ' '; echo
  if [ "$rc" -eq 0 ]; then
    passed=$((passed + 1)); echo "ok: $t"
  else
    failed=$((failed + 1))
    tail -40 "$WORK/$t/log"
    mkdir -p "$ROOT/$FUZZ_DIR/artifacts/$t"
    cp "$WORK/$t/artifacts/"* "$ROOT/$FUZZ_DIR/artifacts/$t/" 2>/dev/null
    echo "FAILED: $t (exit $rc); the input is kept in $FUZZ_DIR/artifacts/$t/: reproduce with"
    echo "  cargo +$TOOLCHAIN fuzz run ${FLAGS[*]} $t $FUZZ_DIR/artifacts/$t/<file>"
  fi
done
echo "suite: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
