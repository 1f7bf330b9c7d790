#!/usr/bin/env bash
# Checks the test-tool installer as a newcomer meets it: with an empty tools cache it installs
# everything the suites need and writes an environment whose every path exists; run again, it
# changes nothing and installs nothing (the fast path CI and developers take every time).
# Prints "suite: N passed, M failed" (scripts/test-all.sh sums it).
set -uo pipefail
cd "$(dirname "$0")/.."
passed=0; failed=0
check() { if eval "$2"; then passed=$((passed + 1)); echo "ok: $1"; else failed=$((failed + 1)); echo "FAILED: $1"; fi; }

tools=$(mktemp -d)
trap 'rm -rf "$tools"' EXIT
first_err=$(mktemp); second_err=$(mktemp)

GRIDBOOK_TOOLS="$tools" .ci/install-tools >"$tools/first.out" 2>"$first_err"; rc1=$?
check "installs into an empty tools cache (exit $rc1)" '[ "$rc1" -eq 0 ]'
check "writes env.sh with the same exports it prints" 'cmp -s "$tools/first.out" "$tools/env.sh"'
(
  # shellcheck disable=SC1091
  . "$tools/env.sh"
  for v in KOTLINC KOTLIN_STDLIB CHROMIUM; do [ -e "${!v}" ] || { echo "missing $v=${!v}"; exit 1; }; done
  IFS=: read -ra jars <<<"$KOTLIN_CLASSPATH_EXTRA"
  for j in "${jars[@]}"; do [ -e "$j" ] || { echo "missing jar $j"; exit 1; }; done
  [ -e "$PLAYWRIGHT_CORE_DIR/playwright-core/package.json" ] || { echo "missing playwright-core"; exit 1; }
) >"$tools/paths.out" 2>&1; rc=$?
check "every path in env.sh exists ($(tr '\n' ' ' <"$tools/paths.out"))" '[ "$rc" -eq 0 ]'
check "the CJK font for receipt images is installed" 'fc-list 2>/dev/null | grep -qi "Noto.*CJK" || ls /usr/share/fonts/opentype/noto/NotoSansCJK* >/dev/null 2>&1'
check "PostgreSQL 15 server binaries are installed" '[ -x /usr/lib/postgresql/15/bin/initdb ] && [ -x /usr/lib/postgresql/15/bin/postgres ]'
check "pytest is importable" 'python3 -m pytest --version >/dev/null 2>&1'
check "cargo-fuzz and a nightly toolchain are installed" 'cargo fuzz --version >/dev/null 2>&1 && rustup run nightly rustc --version >/dev/null 2>&1'

GRIDBOOK_TOOLS="$tools" .ci/install-tools >"$tools/second.out" 2>"$second_err"; rc2=$?
check "a second run succeeds (exit $rc2)" '[ "$rc2" -eq 0 ]'
check "a second run installs nothing" '! grep -qE "npm install|apt-get install|pip install|cargo install|toolchain install" "$second_err"'
check "a second run prints the same environment" 'cmp -s "$tools/first.out" "$tools/second.out"'

rm -f "$first_err" "$second_err"
echo "suite: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
