#!/usr/bin/env bash
# Runs every test of the project: the Rust workspace (unit, property, end-to-end against the real
# server on loopback), then the binding tests (Kotlin on the JVM, Python) and the browser tests.
# It first installs what the tests need (.ci/install-tools: idempotent, a few seconds when all is
# there), so a bare machine needs nothing but this command. Ends with one line
# "total: N passed, M failed" that sums every suite.
set -uo pipefail
cd "$(dirname "$0")/.."

# A whole-suite run builds once: incremental compilation would only add gigabytes of caches
# (9 GB here) that a one-shot build never reads again. A developer may set it back.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

echo "== tools (.ci/install-tools)"
if ! tools_env=$(.ci/install-tools); then
  echo "test-all: installing the test tools failed (see above)" >&2
  echo "total: 0 passed, 1 failed"
  exit 1
fi
eval "$tools_env"

# The fuzz targets (their own workspace, target dir and nightly compiler) build in the background
# from here at the lowest priority, on the cores the gates and suites below leave idle (a clean
# build is ~10 minutes of two cores). scripts/test-fuzz.sh, run last, builds again: a no-op once
# this is done, or it waits for it on cargo's lock; a failed build fails there.
fuzz_build=
if [ -x scripts/test-fuzz.sh ]; then
  fuzz_log="${CARGO_TARGET_DIR:-$PWD/target}/fuzz-build.log"
  mkdir -p "$(dirname "$fuzz_log")"
  nice -n 19 scripts/test-fuzz.sh --build-only >"$fuzz_log" 2>&1 &
  fuzz_build=$!
  # an interrupted run takes its build along (the script's cargo first, then the script)
  trap 'pkill -TERM -P "$fuzz_build" 2>/dev/null; kill "$fuzz_build" 2>/dev/null' EXIT
fi

passed=0; failed=0; status=0
count() { passed=$((passed + $1)); failed=$((failed + $2)); }

# The gates before the suites, each counted as one check: folders of a crate must have an order a
# newcomer can learn (no import cycle through files of different folders; the script names the
# lines that make one), the code is rustfmt'd, and clippy finds nothing (CONTRIBUTING.md).
# Each step's wall time goes to the summary at the end: CI's budget is 30 minutes on 2 cores.
timings=()
took() { timings+=("$(printf '%5ds  %s' "$((SECONDS - $1))" "$2")"); }
gate() {
  local name=$1; shift
  echo "== $name"
  local t0=$SECONDS
  if "$@"; then count 1 0; else echo "FAILED: $name" >&2; count 0 1; status=1; fi
  took "$t0" "$name"
}
for src in core/src sync-server/src; do
  gate "import cycles between folders: $src" python3 scripts/check-import-cycles.py "$src"
done
gate "cargo fmt --all --check" cargo fmt --all --check
# clippy's lints ride the workspace's own build: clippy-driver stands in for rustc on the
# workspace's crates (RUSTC_WORKSPACE_WRAPPER, as `cargo clippy` runs it; CLIPPY_ARGS carries its
# `-D warnings`), so one build of every target both lints and compiles: `cargo clippy` apart
# checked every dependency before the build compiled it. Exported for every cargo run below,
# which reuse this build (scripts/test-fuzz.sh drops it: its nightly compiler is not clippy's).
if clippy_driver=$(rustup which clippy-driver 2>/dev/null || command -v clippy-driver); then
  export RUSTC_WORKSPACE_WRAPPER="$clippy_driver" CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
  # `build --all-targets`, not `test --no-run`: the FFI's shared library and every binary too
  # (uniffi-bindgen below), with the tests' features, so the test runs after it build nothing
  gate "cargo clippy --workspace --all-targets -- -D warnings (linted as built)" \
    cargo build --workspace --all-targets --quiet
else
  gate "cargo clippy --workspace --all-targets -- -D warnings" cargo clippy --workspace --all-targets --quiet -- -D warnings
fi
# The workspace's own build turns SQLCipher on in the core (its tests need it); the server builds
# the core without it, and that build must be as clean.
gate "cargo clippy -p gridbook-core --lib (without SQLCipher) -- -D warnings" \
  cargo clippy -p gridbook-core --lib --quiet -- -D warnings

echo "== Rust workspace (cargo nextest)"
t0=$SECONDS
out=$(mktemp)
if command -v cargo-nextest >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast 2>&1 | tee "$out"; rc=${PIPESTATUS[0]}
  line=$(grep -E 'tests run: [0-9]+ passed' "$out" | tail -1)
  p=$(sed -E 's/.* ([0-9]+) passed.*/\1/' <<<"$line"); f=$(grep -oE '[0-9]+ failed' <<<"$line" | grep -oE '[0-9]+' || echo 0)
else
  cargo test --workspace --no-fail-fast 2>&1 | tee "$out"; rc=${PIPESTATUS[0]}
  p=$(awk '/^test result/ {for (i = 1; i < NF; i++) if ($(i+1) ~ /^passed/) s += $i} END {print s + 0}' "$out")
  f=$(awk '/^test result/ {for (i = 1; i < NF; i++) if ($(i+1) ~ /^failed/) s += $i} END {print s + 0}' "$out")
fi
count "${p:-0}" "${f:-0}"; [ "$rc" -eq 0 ] || { status=1; [ "${f:-0}" -gt 0 ] || count 0 1; }
rm -f "$out"
took "$t0" "Rust workspace"
# The suites below use the server and field simulator this run built (the workspace's features),
# rather than each building them again for its own narrower feature set.
bin_dir="${CARGO_TARGET_DIR:-$PWD/target}/debug"
[ -x "$bin_dir/gridbook-sync-server" ] && export GRIDBOOK_SYNC_SERVER="$bin_dir/gridbook-sync-server"
[ -x "$bin_dir/gridbook-fieldsim" ] && export GRIDBOOK_FIELDSIM="$bin_dir/gridbook-fieldsim"
# and the bindings are generated from its FFI library and uniffi-bindgen (building gridbook-ffi
# alone resolves its features anew and compiled ~3.5 minutes of dependencies again)
if [ -f "$bin_dir/libgridbook_ffi.so" ] && [ -x "$bin_dir/uniffi-bindgen" ]; then
  export GRIDBOOK_FFI_LIB="$bin_dir/libgridbook_ffi.so" GRIDBOOK_UNIFFI_BINDGEN="$bin_dir/uniffi-bindgen"
fi

for suite in scripts/test-installer.sh scripts/test-postgres.sh scripts/test-bindings.sh scripts/test-browser.sh \
  scripts/test-contract.sh \
  scripts/test-fuzz.sh; do
  [ -x "$suite" ] || continue
  echo "== $suite"
  t0=$SECONDS
  out=$(mktemp)
  "$suite" 2>&1 | tee "$out"; rc=${PIPESTATUS[0]}
  while read -r _ p _ f _; do count "$p" "$f"; done < <(grep -E '^suite: [0-9]+ passed, [0-9]+ failed' "$out" | sed 's/,//')
  [ "$rc" -eq 0 ] || { status=1; grep -qE '^suite: [0-9]+ passed, [1-9]' "$out" || count 0 1; }
  rm -f "$out"
  took "$t0" "$suite"
done

echo "== wall time per step (total ${SECONDS}s)"
printf '%s\n' "${timings[@]}"

echo "total: $passed passed, $failed failed"
exit $status
