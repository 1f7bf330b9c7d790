#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for tests and benchmarks: initdb in a temp dir, started on a
# free loopback port as the `postgres` user (initdb refuses root), trusted local logins, gone after.
#
#   scripts/pg-test-cluster.sh start [--owner-pid PID] [--durable] [--archive DIR] [--data DIR]
#       prints two lines:  GRIDBOOK_DATABASE_URL=postgres://postgres@127.0.0.1:PORT/postgres
#                          GRIDBOOK_PG_DIR=/tmp/gridbook-pg.XXXX
#       --owner-pid: stop and remove the cluster by itself once that process is gone (the Rust
#       test helper passes its own pid, so a killed test run leaves no server behind).
#       --durable: keep fsync on (benchmarks); tests run without it, as nothing outlives them.
#       --archive DIR: archive every finished WAL file into DIR (scripts/pg-backup.sh's
#       archive_command), as a production cluster that can be restored to a point in time does.
#       --data DIR: start on DIR instead of a fresh copy of the template: a data directory
#       scripts/pg-backup.sh restore prepared (moved into the cluster's directory, removed with it).
#   scripts/pg-test-cluster.sh stop DIR
#   scripts/pg-test-cluster.sh pause DIR     stops the server (fast: sessions cut), keeps its data
#   scripts/pg-test-cluster.sh resume DIR    starts it again, same port and options (a restart
#       under load, with the gap between the two as long as the caller wants)
#   scripts/pg-test-cluster.sh run [--durable] -- COMMAND...   start, run COMMAND with
#       GRIDBOOK_DATABASE_URL set, stop; exits with COMMAND's status.
#
# PG_BINDIR overrides where initdb/pg_ctl are (default: Debian's /usr/lib/postgresql/15/bin).
set -euo pipefail

BINDIR="${PG_BINDIR:-/usr/lib/postgresql/15/bin}"
log() { echo "pg-test-cluster: $*" >&2; }

# Runs a command as the cluster's owner: `postgres` when we are root, else ourselves.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# initdb takes seconds on a busy machine; it runs once per PostgreSQL version and each cluster
# starts from a copy of its output (built aside, renamed into place, so parallel starts are safe).
TEMPLATE_ROOT="${PG_TEST_CLUSTER_CACHE:-/tmp/gridbook-pg-template}"
TEMPLATE=""
template() {
  local version
  version=$("$BINDIR/postgres" --version | tr -c 'A-Za-z0-9.\n' '_')
  TEMPLATE="$TEMPLATE_ROOT/$version"
  [ -f "$TEMPLATE/PG_VERSION" ] && return 0
  mkdir -p "$TEMPLATE_ROOT"
  chmod 755 "$TEMPLATE_ROOT"
  [ "$(id -u)" -ne 0 ] || chown postgres: "$TEMPLATE_ROOT"
  local building="$TEMPLATE.building.$$"
  if ! as_owner "$BINDIR/initdb" -D "$building" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync \
    >"$TEMPLATE_ROOT/initdb.log" 2>&1; then
    log "initdb failed:"; cat "$TEMPLATE_ROOT/initdb.log" >&2; rm -rf "$building"; return 1
  fi
  as_owner mv -T "$building" "$TEMPLATE" 2>/dev/null || rm -rf "$building"
}

start() {
  local owner_pid="" durable=0 archive="" data=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --owner-pid) owner_pid="$2"; shift 2 ;;
      --durable) durable=1; shift ;;
      --archive) archive="$2"; shift 2 ;;
      --data) data="$2"; shift 2 ;;
      *) log "unknown option $1"; exit 2 ;;
    esac
  done
  for b in initdb pg_ctl; do
    [ -x "$BINDIR/$b" ] || { log "$BINDIR/$b is missing: install Debian's postgresql (.ci/install-tools)"; exit 1; }
  done
  local dir port archive_command=""
  if [ -n "$archive" ]; then
    # the very command the operations docs give (the path holds no quote or space: a temp dir);
    # worked out before anything is made, so that a failure leaves nothing behind
    archive_command=$("$(dirname "$0")/pg-backup.sh" archive-command "$archive")
  fi
  dir=$(mktemp -d "${TMPDIR:-/tmp}/gridbook-pg.XXXXXX")
  chmod 755 "$dir"
  [ "$(id -u)" -ne 0 ] || chown postgres: "$dir"
  if [ -n "$data" ]; then
    [ -f "$data/PG_VERSION" ] || { log "$data is not a PostgreSQL data directory"; rm -rf "$dir"; exit 2; }
    as_owner mv -T "$data" "$dir/data"
  else
    template || { rm -rf "$dir"; exit 1; }
    as_owner cp -a "$TEMPLATE" "$dir/data"
  fi
  local opts="-c listen_addresses=127.0.0.1 -c unix_socket_directories=$dir -c max_connections=200"
  opts+=" -c shared_buffers=128MB -c max_prepared_transactions=0"
  # No autovacuum: its ANALYZE takes a transaction id, and a running one holds back the pull
  # watermark of every database in the cluster (docs/postgres.md, "The change cursor") for its
  # length; the tests assert that one sync cycle sees what another phone sent before it, and a
  # throwaway cluster's tables are small and short-lived.
  opts+=" -c autovacuum=off"
  [ "$durable" -eq 1 ] || opts+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  [ -z "$archive_command" ] || opts+=" -c archive_mode=on -c archive_command='$archive_command'"
  # A port taken between free_port and the server's bind makes pg_ctl fail: try a few.
  local tries=0
  while :; do
    port=$(free_port)
    if as_owner "$BINDIR/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 -s start -o "$opts -p $port" >&2; then
      break
    fi
    tries=$((tries + 1))
    if [ "$tries" -ge 3 ]; then
      log "the server did not start:"; tail -20 "$dir/server.log" >&2
      rm -rf "$dir"; exit 1
    fi
  done
  echo "$port" >"$dir/port"
  echo "$opts -p $port" >"$dir/opts"
  if [ -n "$owner_pid" ]; then
    # Detached watcher: stops the cluster when the owner exits, however it exits.
    nohup setsid bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; "$2" stop "$3"' _ \
      "$owner_pid" "$(readlink -f "$0")" "$dir" >/dev/null 2>&1 &
  fi
  echo "GRIDBOOK_DATABASE_URL=postgres://postgres@127.0.0.1:$port/postgres"
  echo "GRIDBOOK_PG_DIR=$dir"
}

stop() {
  local dir="${1:?usage: pg-test-cluster.sh stop DIR}"
  # Only ever remove what `start` made.
  case "$(basename "$dir")" in gridbook-pg.*) ;; *) log "not a test cluster: $dir"; exit 2 ;; esac
  [ -d "$dir" ] || return 0
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_owner "$BINDIR/pg_ctl" -D "$dir/data" -s -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}

pause() {
  local dir="${1:?usage: pg-test-cluster.sh pause DIR}"
  case "$(basename "$dir")" in gridbook-pg.*) ;; *) log "not a test cluster: $dir"; exit 2 ;; esac
  as_owner "$BINDIR/pg_ctl" -D "$dir/data" -s -m fast -w stop >&2
}

resume() {
  local dir="${1:?usage: pg-test-cluster.sh resume DIR}"
  case "$(basename "$dir")" in gridbook-pg.*) ;; *) log "not a test cluster: $dir"; exit 2 ;; esac
  as_owner "$BINDIR/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 -s start -o "$(cat "$dir/opts")" >&2
}

run() {
  local start_args=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do start_args+=("$1"); shift; done
  [ "${1:-}" = "--" ] && shift
  [ $# -gt 0 ] || { log "usage: pg-test-cluster.sh run [--durable] -- COMMAND..."; exit 2; }
  local out url
  out=$(start "${start_args[@]}")
  url=$(sed -n 's/^GRIDBOOK_DATABASE_URL=//p' <<<"$out")
  RUN_DIR=$(sed -n 's/^GRIDBOOK_PG_DIR=//p' <<<"$out")
  trap 'stop "$RUN_DIR"' EXIT
  GRIDBOOK_DATABASE_URL="$url" GRIDBOOK_PG_DIR="$RUN_DIR" "$@"
}

cmd="${1:-}"
[ $# -gt 0 ] && shift
case "$cmd" in
  start) start "$@" ;;
  stop) stop "$@" ;;
  pause) pause "$@" ;;
  resume) resume "$@" ;;
  run) run "$@" ;;
  *) log "usage: pg-test-cluster.sh start [--owner-pid PID] [--durable] [--archive DIR] [--data DIR] | stop DIR | pause DIR | resume DIR | run [--durable] -- COMMAND..."; exit 2 ;;
esac
