#!/usr/bin/env bash
# Browser tests of the back office (issue 6): the real server binary on 127.0.0.1, two real
# phones syncing (gridbook-fieldsim), and headless Chromium driven by playwright-core through
# node's test runner (tests/browser/*.test.mjs). Screenshots go to tests/browser/screenshots/.
# Needs .ci/install-tools (Chromium, playwright-core): fails, never skips, when they are missing.
# Ends with "suite: N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)

fail() {
  echo "test-browser: $*" >&2
  echo "suite: 0 passed, 1 failed"
  exit 1
}

if [ -z "${PLAYWRIGHT_CORE_DIR:-}" ]; then
  env_file="${GRIDBOOK_TOOLS:-${HOME:-/root}/.cache/gridbook-tools}/env.sh"
  # shellcheck disable=SC1090
  [ -f "$env_file" ] && . "$env_file"
fi
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
[ -x "$CHROMIUM" ] || fail "Chromium is missing ($CHROMIUM): run .ci/install-tools"
[ -f "${PLAYWRIGHT_CORE_DIR:-/nonexistent}/playwright-core/package.json" ] || fail "playwright-core is missing: run .ci/install-tools"
command -v node >/dev/null 2>&1 || fail "node is missing: run .ci/install-tools"
export PLAYWRIGHT_CORE_DIR CHROMIUM

# test-all.sh hands over the binaries its workspace run built (GRIDBOOK_SYNC_SERVER,
# GRIDBOOK_FIELDSIM); alone, this suite builds them
server="${GRIDBOOK_SYNC_SERVER:-}"
fieldsim="${GRIDBOOK_FIELDSIM:-}"
if [ ! -x "$server" ] || [ ! -x "$fieldsim" ]; then
  echo "test-browser: building the server and the field simulator"
  cargo build -q -p gridbook-sync-server --bin gridbook-sync-server -p gridbook-tests --bin gridbook-fieldsim \
    || fail "cargo build failed"
  bin="${CARGO_TARGET_DIR:-target}/debug"
  server="$bin/gridbook-sync-server"
  fieldsim="$bin/gridbook-fieldsim"
fi
[ -x "$server" ] && [ -x "$fieldsim" ] || fail "built binaries not found: $server, $fieldsim"

work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; fi
  rm -rf "$work"
}
trap cleanup EXIT

db="$work/server.db"
sup_password="Gridbook-测试-$RANDOM$RANDOM"
admin() { "$server" admin --db "$db" "$@" >/dev/null || fail "admin $* failed"; }
admin create-grid --id g1 --name "幸福里网格"
admin create-grid --id g2 --name "人民路网格"
admin create-manager --id zhang --name "张伟" --role field
admin create-manager --id li --name "李娜" --role field
admin assign-grid --manager zhang --grid g1
admin assign-grid --manager li --grid g1
GRIDBOOK_NEW_PASSWORD="$sup_password" "$server" admin --db "$db" create-manager --id wangsup --name "王主管" --role supervisor >/dev/null \
  || fail "creating the supervisor failed"
# the supervisor watches g1 only: g2 is another supervisor's (issue 18)
admin assign-grid --manager wangsup --grid g1
# the admin who hands a building over to wang (王强, grid g2) from the handover page
admin create-manager --id wang --name "王强" --role field
admin assign-grid --manager wang --grid g2
GRIDBOOK_NEW_PASSWORD="$sup_password" "$server" admin --db "$db" create-manager --id root --name "系统管理员" --role admin >/dev/null \
  || fail "creating the admin failed"

GRIDBOOK_LOG=warn "$server" serve --db "$db" --listen 127.0.0.1:0 --port-file "$work/port" 2>"$work/server.log" &
server_pid=$!
for _ in $(seq 1 300); do
  [ -s "$work/port" ] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; fail "the server did not start"; }
  sleep 0.1
done
[ -s "$work/port" ] || fail "the server did not write its port file"
url="http://$(cat "$work/port")"
echo "test-browser: server at $url"

shots=tests/browser/screenshots
rm -rf "$shots"
mkdir -p "$shots"
out="$work/node.tap"
GB_URL="$url" GB_DB="$db" GB_SERVER="$server" GB_FIELDSIM="$fieldsim" GB_SUP_ID=wangsup GB_SUP_PASSWORD="$sup_password" GB_ADMIN_ID=root \
  GB_SCREENSHOTS="$shots" timeout 600 node --test --test-reporter=tap tests/browser/ 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}

pass=$(grep -E '^# pass [0-9]+' "$out" | tail -1 | grep -oE '[0-9]+' || echo 0)
failed=$(grep -E '^# fail [0-9]+' "$out" | tail -1 | grep -oE '[0-9]+' || echo 0)
if [ "$rc" -ne 0 ] && [ "${failed:-0}" -eq 0 ]; then
  failed=1
  echo "test-browser: node exited $rc" >&2
  tail -20 "$work/server.log" >&2
fi
if [ "${pass:-0}" -eq 0 ] && [ "${failed:-0}" -eq 0 ]; then
  failed=1
  echo "test-browser: no test ran" >&2
fi
echo "test-browser: $(ls "$shots" | wc -l) screenshots in $shots, $(( $(date +%s) - started )) s"
echo "suite: ${pass:-0} passed, ${failed:-0} failed"
[ "${failed:-0}" -eq 0 ]
