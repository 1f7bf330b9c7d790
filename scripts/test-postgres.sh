#!/usr/bin/env bash
# The PostgreSQL variant of the suites (issue 15): starts one throwaway PostgreSQL 15 cluster
# (scripts/pg-test-cluster.sh), and runs on it, with GRIDBOOK_TEST_BACKEND=postgres, the server's
# tests written for both backends (sync_core, push_batches, api, the back office's backoffice,
# billing, transfer, references, shared_state, wipes, photos and backoffice_photos; end to end: handover, receipts, sync,
# snapshot_file, workday, reminders, transfer, demo, wipe, visit_locations, live_changes), the two-replica
# tests that always run on PostgreSQL (replicas, backoffice_replicas, live_changes' second), the move
# from SQLite (migrate_to_postgres) and the PostgreSQL backend's own tests (migrations,
# the change cursor's property, the restore's generation). Every test process shares the cluster
# (GRIDBOOK_TEST_PG_URL), one database per test; pg_restore (a base backup and the WAL archive
# restored into a new cluster) starts clusters of its own. No PostgreSQL installed
# is a failure that says what to install, never a skip. Ends with "suite: N passed, M failed"
# (scripts/test-all.sh sums it).
set -uo pipefail
cd "$(dirname "$0")/.."

out=$(mktemp)
trap 'rm -f "$out"' EXIT
# One test at a time: the tests share the cluster, and a pull serves nothing newer than the oldest
# transaction running in the whole cluster (docs/postgres.md), another test's included.
# Selected by module: each crate's integration tests are one binary (`it`), a test named
# `<file>::<test>` after its file in sync-server/tests/it or tests/tests/it.
server_tests='sync_core|push_batches|api|backoffice|billing|transfer|references|shared_state|wipes|workbench|photos|backoffice_photos|directory|administration|paging|money'
# End to end: phones with real stores against the in-process server on PostgreSQL.
e2e_tests='replicas|backoffice_replicas|pg_restore|migrate_to_postgres|live_changes|handover|receipts|sync|snapshot_file|workday|reminders|transfer|demo|wipe|visit_locations'
# --workspace (the filter picks the packages): the same features as the workspace run, so its
# build is reused instead of compiling core and the server again for a narrower feature set;
# `storage::postgres::` is the server library's own unit tests
filter="(package(gridbook-sync-server) & ((binary(it) & test(/^($server_tests)::/)) | test(storage::postgres::))) | (package(gridbook-tests) & binary(it) & test(/^($e2e_tests)::/))"
scripts/pg-test-cluster.sh run -- bash -c '
  GRIDBOOK_TEST_PG_URL="$GRIDBOOK_DATABASE_URL" GRIDBOOK_TEST_BACKEND=postgres \
    env -u GRIDBOOK_DATABASE_URL cargo nextest run --workspace --no-fail-fast --test-threads 1 -E "$1"
' _ "$filter" 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
line=$(grep -E 'tests run: [0-9]+ passed' "$out" | tail -1)
passed=$(sed -nE 's/.* ([0-9]+) passed.*/\1/p' <<<"$line")
failed=$(grep -oE '[0-9]+ failed' <<<"$line" | grep -oE '[0-9]+' || true)
passed=${passed:-0}; failed=${failed:-0}
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi  # no cluster, no build: one failure
if [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi  # nothing ran is no pass
echo "suite: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
