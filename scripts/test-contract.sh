#!/usr/bin/env bash
# The contract suite: schemathesis (pinned by .ci/install-tools) against the real sync server. It
# builds the server, seeds a small city (a grid, a field manager, an arrears account, a household
# pushed by an enrolled phone), starts the server on 127.0.0.1 (a free port), and lets schemathesis
# send bounded, seeded requests to every operation of GET /v1/openapi.json with that phone's token.
# /v1/changes answers at once (--changes-max-wait-s 0): the long poll would hold each example
# request up to 25 s. Passes with 0 server errors and 0 answers that break the document (status codes, content types,
# bodies against their schemas). Ends with "suite: N passed, M failed" (N, M: operations).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
MAX_EXAMPLES="${CONTRACT_MAX_EXAMPLES:-30}"
SEED="${CONTRACT_SEED:-20261206}"

fail() {
  echo "test-contract: $*" >&2
  echo "suite: 0 passed, 1 failed"
  exit 1
}

if [ -z "${SCHEMATHESIS:-}" ]; then
  env_file="${GRIDBOOK_TOOLS:-${HOME:-/root}/.cache/gridbook-tools}/env.sh"
  # shellcheck disable=SC1090
  [ -f "$env_file" ] && . "$env_file"
fi
[ -n "${SCHEMATHESIS:-}" ] && [ -x "$SCHEMATHESIS" ] || fail "schemathesis is missing: run eval \"\$(.ci/install-tools)\""

# test-all.sh hands over the server its workspace run built (GRIDBOOK_SYNC_SERVER); alone, this
# suite builds one
SERVER="${GRIDBOOK_SYNC_SERVER:-}"
if [ ! -x "$SERVER" ]; then
  echo "== build gridbook-sync-server (for the contract suite)"
  nice -n 5 cargo build -p gridbook-sync-server >&2 || fail "the sync server does not build"
  SERVER="$TARGET_DIR/debug/gridbook-sync-server"
fi

WORK=$(mktemp -d)
SERVER_PID=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
DB="$WORK/contract.db"
admin() { "$SERVER" admin --db "$DB" "$@"; }

echo "== seed a small city"
admin create-grid --id yuelu-01 --name "岳麓 01" >/dev/null || fail "create-grid"
admin create-manager --id zhangwei --name "张伟" >/dev/null || fail "create-manager"
admin assign-grid --manager zhangwei --grid yuelu-01 >/dev/null || fail "assign-grid"
CODE=$(admin enrol-code --manager zhangwei | grep -oE '[A-Z0-9]{5}-[A-Z0-9]{5}' | head -1)
[ -n "$CODE" ] || fail "no enrolment code"

"$SERVER" serve --db "$DB" --listen 127.0.0.1:0 --port-file "$WORK/port" \
  --device-requests-per-s 0 --snapshot-refresh-s 0 --changes-max-wait-s 0 >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do [ -s "$WORK/port" ] && break; sleep 0.1; done
[ -s "$WORK/port" ] || { cat "$WORK/server.log" >&2; fail "the server did not start"; }
ADDR=$(tr -d '\n' <"$WORK/port")
case "$ADDR" in *:*) ;; *) ADDR="127.0.0.1:$ADDR" ;; esac
BASE="http://$ADDR"

TOKEN=$(python3 - "$BASE" "$CODE" <<'PY'
import json, sys, time, urllib.request, uuid
base, code = sys.argv[1], sys.argv[2]
def post(path, body, token=None):
    req = urllib.request.Request(base + path, json.dumps(body).encode(), {"Content-Type": "application/json"})
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req) as r:
        return json.load(r)
device = "contract_p1"
token = post("/v1/enrol", {"protocol": 1, "code": code, "device_id": device, "app_version": "contract"})["token"]
now = int(time.time() * 1000)
hlc = "%012x%04x-%s" % (now, 0, device)
op = {"id": str(uuid.uuid4()), "kind": "household", "entity": "hh-0001", "grid": "yuelu-01", "action": "create",
      "fields": {"grid_id": "yuelu-01", "customer_name": "李娜", "address": "岳麓区 3号楼 2单元 301", "mobile": "13911112222"},
      "hlc": hlc}
facts = {"app_version": "contract", "pending_count": 1, "rejected_count": 0, "db_size_bytes": 4096,
         "wall_clock_ms": now, "zone_offset_min": 480}
answer = post("/v1/push", {"protocol": 1, "facts": facts, "ops": [op]}, token)
assert answer["results"][0]["outcome"] == "applied", answer
print(token)
PY
) || fail "enrolling the phone or its first push failed"
# an account names its household, which must exist first (the phone's push above made it)
admin add-arrears --grid yuelu-01 --household hh-0001 --account-no ACC-0001 --owed-fen 15800 >/dev/null \
  || fail "add-arrears"

echo "== schemathesis against $BASE/v1/openapi.json (max $MAX_EXAMPLES examples, seed $SEED)"
REPORT="$WORK/junit.xml"
"$SCHEMATHESIS" run "$BASE/v1/openapi.json" \
  --url "$BASE" \
  --header "Authorization: Bearer $TOKEN" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --max-examples "$MAX_EXAMPLES" --seed "$SEED" \
  --phases examples,coverage,fuzzing \
  --report junit --report-junit-path "$REPORT" \
  --no-color
rc=$?
[ -f "$REPORT" ] || { tail -20 "$WORK/server.log" >&2; fail "schemathesis wrote no report (exit $rc)"; }
read -r passed failed < <(python3 - "$REPORT" <<'PY'
import sys, xml.etree.ElementTree as ET
cases = ET.parse(sys.argv[1]).getroot().iter("testcase")
p = f = 0
for c in cases:
    if c.find("failure") is not None or c.find("error") is not None:
        f += 1
    elif c.find("skipped") is None:
        p += 1
print(p, f)
PY
)
if [ "$rc" -ne 0 ] && [ "${failed:-0}" -eq 0 ]; then failed=1; fi
grep -E '"level":"ERROR"|panicked' "$WORK/server.log" | head -5 >&2
echo "suite: ${passed:-0} passed, ${failed:-0} failed"
[ "$rc" -eq 0 ]
