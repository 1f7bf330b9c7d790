#!/usr/bin/env bash
# Runs the binding tests: generates the Kotlin/Swift/Python bindings (scripts/gen-bindings.sh),
# builds the sync server the end-to-end tests start on 127.0.0.1, then runs
#   - the Python suite (tests/python, pytest) over the Python bindings, and
#   - the Kotlin JUnit suite (tests/kotlin) over the Kotlin bindings and the plain Kotlin module
#     android/core-logic, compiled together in one kotlinc call and run on the JVM, and
#   - the checks that stand in for the Android and Swift compilers CI does not have:
#     scripts/check-binding-names.py (the apps use only what the generated bindings export, with
#     Swift's argument labels) and scripts/check-app-strings.py (words from resources, zh-CN and
#     English with the same keys).
# Each suite prints "suite: N passed, M failed" (scripts/test-all.sh sums these) and writes JUnit
# XML to target/test-reports/. Exits non-zero if a suite fails or its tools are missing: it never
# passes by skipping. Tools: eval "$(.ci/install-tools)" (kotlinc, JNA, JUnit, pytest).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
REPORTS="$TARGET_DIR/test-reports"
status=0

# The tools: from the environment, else from the file .ci/install-tools writes.
if [ -z "${KOTLINC:-}" ]; then
  env_file="${GRIDBOOK_TOOLS:-${HOME:-/root}/.cache/gridbook-tools}/env.sh"
  # shellcheck disable=SC1090
  [ -f "$env_file" ] && . "$env_file"
fi
missing=()
[ -n "${KOTLINC:-}" ] && [ -x "${KOTLINC:-}" ] || missing+=("kotlinc (KOTLINC)")
[ -n "${KOTLIN_STDLIB:-}" ] && [ -f "${KOTLIN_STDLIB:-}" ] || missing+=("kotlin stdlib (KOTLIN_STDLIB)")
[ -n "${KOTLIN_CLASSPATH_EXTRA:-}" ] || missing+=("JNA/JUnit/coroutines jars (KOTLIN_CLASSPATH_EXTRA)")
command -v java >/dev/null 2>&1 || missing+=("java")
python3 -m pytest --version >/dev/null 2>&1 || missing+=("pytest")
if [ "${#missing[@]}" -gt 0 ]; then
  echo "test-bindings: MISSING TOOLS: ${missing[*]}" >&2
  echo "test-bindings: install them with:  eval \"\$(.ci/install-tools)\"" >&2
  echo "suite: 0 passed, 1 failed"
  exit 1
fi

secs() { date +%s.%N; }
took() { awk -v a="$1" -v b="$(secs)" 'BEGIN {printf "%.1f", b - a}'; }

echo "== generate bindings (Kotlin, Swift, Python)"
t0=$(secs)
if ! scripts/gen-bindings.sh; then
  echo "test-bindings: binding generation failed" >&2
  echo "suite: 0 passed, 1 failed"
  exit 1
fi
echo "generated in $(took "$t0") s"
LIBDIR="$ROOT/bindings/kotlin"  # the library the bindings were generated from

# ---- the apps against the bindings and their string resources ---------------------------------
for check in scripts/check-binding-names.py scripts/check-app-strings.py; do
  echo "== $check"
  python3 "$check" || status=1  # prints its own "suite: N passed, M failed"
done

# test-all.sh hands over the server its workspace run built (GRIDBOOK_SYNC_SERVER); alone, this
# suite builds one
if [ ! -x "${GRIDBOOK_SYNC_SERVER:-}" ]; then
  echo "== build gridbook-sync-server (for the end-to-end tests)"
  if ! nice -n 5 cargo build -p gridbook-sync-server >&2; then
    echo "test-bindings: the sync server does not build" >&2
    echo "suite: 0 passed, 1 failed"
    exit 1
  fi
  GRIDBOOK_SYNC_SERVER="$TARGET_DIR/debug/gridbook-sync-server"
fi
export GRIDBOOK_SYNC_SERVER
mkdir -p "$REPORTS"

# ---- Python -----------------------------------------------------------------------------------
echo "== Python binding tests (pytest tests/python)"
t0=$(secs)
GRIDBOOK_BINDINGS_PY="$ROOT/bindings/python" python3 -m pytest -q -p no:cacheprovider \
  --junitxml="$REPORTS/python.xml" tests/python
py_rc=$?
read -r py_tests py_fail py_err py_skip < <(python3 - "$REPORTS/python.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except Exception:
    print(0, 1, 0, 0); sys.exit()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
t = sum(int(s.get("tests", 0)) for s in suites)
f = sum(int(s.get("failures", 0)) for s in suites)
e = sum(int(s.get("errors", 0)) for s in suites)
k = sum(int(s.get("skipped", 0)) for s in suites)
print(t, f, e, k)
PY
)
py_bad=$((py_fail + py_err + py_skip))  # a skipped test is not a pass
py_ok=$((py_tests - py_bad))
[ "$py_rc" -eq 0 ] || [ "$py_bad" -gt 0 ] || py_bad=1
echo "python: $py_ok passed, $py_bad failed ($py_skip skipped counted as failed) in $(took "$t0") s"
echo "suite: $py_ok passed, $py_bad failed"
[ "$py_bad" -eq 0 ] && [ "$py_ok" -gt 0 ] || status=1

# ---- Kotlin -----------------------------------------------------------------------------------
echo "== Kotlin JUnit tests (tests/kotlin + android/core-logic over the Kotlin bindings)"
CLASSES="$TARGET_DIR/kotlin-tests/classes"
sources=()  # the bindings (gridbook_ffi.kt, core's gridbook_core.kt), core-logic, the tests
while IFS= read -r f; do sources+=("$f"); done < <(find bindings/kotlin android/core-logic/src/main/kotlin tests/kotlin -name '*.kt' | sort)
stamp=$( { "$KOTLINC" -version 2>&1; cat "${sources[@]}"; } | sha256sum | cut -d' ' -f1)
t0=$(secs)
if [ -f "$CLASSES/.stamp" ] && [ "$(cat "$CLASSES/.stamp")" = "$stamp" ]; then
  echo "kotlinc: sources unchanged since the last compile, reusing $CLASSES"
  kt_rc=0
else
  rm -rf "$CLASSES"; mkdir -p "$CLASSES"
  nice -n 5 "$KOTLINC" -nowarn -cp "$KOTLIN_CLASSPATH_EXTRA" -d "$CLASSES" "${sources[@]}"
  kt_rc=$?
  [ "$kt_rc" -eq 0 ] && echo "$stamp" > "$CLASSES/.stamp"
  echo "kotlinc: ${#sources[@]} files compiled in $(took "$t0") s"
fi
if [ "$kt_rc" -ne 0 ]; then
  echo "test-bindings: the Kotlin sources do not compile" >&2
  echo "suite: 0 passed, 1 failed"
  status=1
else
  t0=$(secs)
  java -Djna.library.path="$LIBDIR" -Dgridbook.root="$ROOT" \
    -cp "$CLASSES:$KOTLIN_STDLIB:$KOTLIN_CLASSPATH_EXTRA" app.gridbook.tests.RunTestsKt "$REPORTS/kotlin" \
    | tee "$REPORTS/kotlin.log"
  rc=${PIPESTATUS[0]}
  echo "kotlin tests ran in $(took "$t0") s"
  if ! grep -qE '^suite: [0-9]+ passed, [0-9]+ failed' "$REPORTS/kotlin.log"; then
    echo "suite: 0 passed, 1 failed"  # the runner died before its summary
    status=1
  fi
  [ "$rc" -eq 0 ] || status=1
fi

exit $status
