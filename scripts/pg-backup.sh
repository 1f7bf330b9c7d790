#!/usr/bin/env bash
# Backups and restores of the Gridbook PostgreSQL database with the engine's own tools only
# (docs/postgres.md, "Backups and restore"): continuous WAL archiving, base backups taken by
# pg_basebackup with a SHA-256 manifest and checked by pg_verifybackup, and point-in-time
# recovery (recovery.signal, restore_command, a recovery target). Nothing here copies table data
# itself. Run it as the user that owns the PostgreSQL data directory (`sudo -u postgres …`).
#
#   pg-backup.sh archive-command ARCHIVE_DIR
#       prints the archive_command that copies each finished WAL file into ARCHIVE_DIR, never
#       over an existing file (for postgresql.conf; `enable-archiving` sets it).
#   pg-backup.sh enable-archiving --url URL --archive ARCHIVE_DIR
#       ALTER SYSTEM: wal_level=replica, archive_mode=on, archive_command; archive_mode takes
#       effect at the next restart of PostgreSQL (the script says so). URL: a superuser.
#   pg-backup.sh base-backup --url URL --to DIR
#       pg_basebackup into DIR (must not exist): plain format, the WAL needed to make it consistent
#       streamed in (-X stream), a fast checkpoint, a backup_manifest with SHA-256 checksums;
#       then pg_verifybackup. URL: a role with REPLICATION (a superuser).
#   pg-backup.sh verify DIR
#       pg_verifybackup: every file against the manifest, and the WAL the backup needs.
#   pg-backup.sh archive-now --url URL [--timeout S]
#       switches to a new WAL file and waits until the finished one is archived (before a
#       planned stop, so that the archive holds everything up to now).
#   pg-backup.sh restore --from BACKUP_DIR --to DATA_DIR [--archive ARCHIVE_DIR]
#                        [--target-time 'YYYY-MM-DD HH:MM:SS+08' | --target immediate]
#       verifies the backup, copies it to DATA_DIR (must not exist or be empty) and prepares
#       the recovery: recovery.signal, restore_command from the archive, the target, promotion
#       at the target (a new timeline). No target: every WAL file the archive holds. No archive:
#       the base backup alone (its own WAL, target immediate). Then start PostgreSQL on DATA_DIR.
#   pg-backup.sh wait-recovered --url URL [--timeout S]
#       waits until the started cluster has finished recovery and is promoted, then clears the
#       recovery target settings (a later restart must not stop at that point again).
#
# After a restore, before any Gridbook server starts:
#   gridbook-sync-server admin --database-url URL mark-restored
#
# PG_BINDIR overrides where the PostgreSQL programs are (default: Debian's
# /usr/lib/postgresql/15/bin).
set -euo pipefail

BINDIR="${PG_BINDIR:-/usr/lib/postgresql/15/bin}"
log() { echo "pg-backup: $*" >&2; }
die() { log "$*"; exit 1; }

need() {
  for b in "$@"; do
    [ -x "$BINDIR/$b" ] || die "$BINDIR/$b is missing: install PostgreSQL 15's server programs (Debian: postgresql-15)"
  done
}

# Sets the caller's variables from `--name VALUE` pairs: `options "url to" "$@"` accepts --url and
# --to (a dash in a name is an underscore in its variable), and refuses anything else.
options() {
  local _allowed=" $1 " _var
  shift
  while [ $# -gt 0 ]; do
    _var=${1#--}
    _var=${_var//-/_}
    case "$1" in --*) ;; *) die "unexpected argument $1" ;; esac
    case "$_allowed" in *" $_var "*) ;; *) die "unknown option $1" ;; esac
    [ $# -ge 2 ] || die "$1 needs a value"
    printf -v "$_var" '%s' "$2"
    shift 2
  done
}

psql_value() { "$BINDIR/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }

# A path as it goes into a postgresql.conf string: absolute, and no quote to escape.
conf_path() {
  local p
  p=$(realpath -m -- "$1")
  case "$p" in *"'"*|*'"'*|*' '*) die "the path $p must hold no quote or space (it goes into postgresql.conf)" ;; esac
  printf '%s' "$p"
}

archive_command() {
  local dir
  dir=$(conf_path "${1:?usage: pg-backup.sh archive-command ARCHIVE_DIR}")
  # never overwrite: a file already there is a second cluster archiving into the same place
  printf 'test ! -f %s/%%f && cp %%p %s/%%f' "$dir" "$dir"
}

enable_archiving() {
  local url="" archive=""
  options "url archive" "$@"
  [ -n "$url" ] && [ -n "$archive" ] || die "usage: pg-backup.sh enable-archiving --url URL --archive ARCHIVE_DIR"
  need psql
  mkdir -p "$archive"
  local cmd
  cmd=$(archive_command "$archive")
  psql_value "$url" "ALTER SYSTEM SET wal_level = 'replica'" >/dev/null
  psql_value "$url" "ALTER SYSTEM SET archive_mode = 'on'" >/dev/null
  psql_value "$url" "ALTER SYSTEM SET archive_command = '$cmd'" >/dev/null
  psql_value "$url" "SELECT pg_reload_conf()" >/dev/null
  if [ "$(psql_value "$url" "SHOW archive_mode")" != on ]; then
    log "archive_mode is set: restart PostgreSQL now (systemctl restart postgresql@15-main) for it to take effect"
  fi
  log "WAL files will be archived into $(conf_path "$archive")"
}

base_backup() {
  local url="" to=""
  options "url to" "$@"
  [ -n "$url" ] && [ -n "$to" ] || die "usage: pg-backup.sh base-backup --url URL --to DIR"
  [ ! -e "$to" ] || die "$to exists already: a base backup goes into a new directory"
  need pg_basebackup pg_verifybackup
  "$BINDIR/pg_basebackup" -d "$url" -D "$to" --format=plain --wal-method=stream --checkpoint=fast \
    --manifest-checksums=SHA256 --label="gridbook $(date -u +%Y-%m-%dT%H:%M:%SZ)" --no-password
  "$BINDIR/pg_verifybackup" --quiet "$to" || die "the backup in $to does not verify: do not rely on it"
  log "base backup in $to, verified ($(du -sh "$to" | cut -f1)); $(grep -m1 'START WAL LOCATION' "$to/backup_label")"
}

verify() {
  local dir="${1:?usage: pg-backup.sh verify BACKUP_DIR}"
  need pg_verifybackup
  "$BINDIR/pg_verifybackup" "$dir"
}

# Waits until `sql` answers `t` on `url`; fails after `timeout` seconds.
wait_for() {
  local url="$1" sql="$2" timeout="$3" what="$4" waited=0
  while [ "$(psql_value "$url" "$sql" 2>/dev/null || true)" != t ]; do
    [ "$waited" -lt "$((timeout * 10))" ] || die "still not $what after ${timeout}s: see PostgreSQL's log"
    sleep 0.1
    waited=$((waited + 1))
  done
}

archive_now() {
  local url="" timeout=60
  options "url timeout" "$@"
  [ -n "$url" ] || die "usage: pg-backup.sh archive-now --url URL [--timeout S]"
  need psql
  [ "$(psql_value "$url" "SHOW archive_mode")" != off ] || die "archive_mode is off: nothing is archived (enable-archiving)"
  local file
  # the name of the WAL file the switch finished (at a file's boundary pg_walfile_name names it)
  file=$(psql_value "$url" "SELECT pg_walfile_name(pg_switch_wal())")
  wait_for "$url" "SELECT coalesce(last_archived_wal >= '$file', false) FROM pg_stat_archiver" "$timeout" \
    "archived ($file)"
  log "archived up to $file"
}

restore() {
  local from="" to="" archive="" target_time="" target=""
  options "from to archive target_time target" "$@"
  [ -n "$from" ] && [ -n "$to" ] || die "usage: pg-backup.sh restore --from BACKUP_DIR --to DATA_DIR [--archive DIR] [--target-time TS | --target immediate]"
  [ -z "$target" ] || [ "$target" = immediate ] || die "--target: only 'immediate' (the end of the base backup)"
  [ -z "$target" ] || [ -z "$target_time" ] || die "--target and --target-time: one or the other"
  [ -n "$archive" ] || [ -z "$target_time" ] || die "--target-time needs --archive: the WAL after the backup is there"
  [ -f "$from/backup_manifest" ] || die "$from holds no backup_manifest: not a base backup of pg-backup.sh"
  if [ -e "$to" ] && [ -n "$(ls -A "$to")" ]; then
    die "$to is not empty: move the old data directory aside first (keep it until the restore is checked)"
  fi
  need pg_verifybackup
  "$BINDIR/pg_verifybackup" --quiet "$from" || die "the backup in $from does not verify: restore another one"
  mkdir -p "$to"
  chmod 700 "$to"
  cp -a "$from/." "$to/"
  rm -f "$to/backup_manifest" # the backup's, not the restored cluster's
  local restore_command
  if [ -n "$archive" ]; then
    [ -d "$archive" ] || die "no archive directory $archive"
    local dir
    dir=$(conf_path "$archive")
    restore_command="cp $dir/%f %p"
  else
    restore_command="false" # no archive: the WAL the backup streamed into its own pg_wal only
    target=immediate
  fi
  {
    echo "# gridbook restore from $(conf_path "$from") ($(date -u +%Y-%m-%dT%H:%M:%SZ)); wait-recovered clears the target"
    echo "restore_command = '$restore_command'"
    if [ -n "$target_time" ]; then
      echo "recovery_target_time = '$target_time'"
    elif [ "$target" = immediate ]; then
      echo "recovery_target = 'immediate'"
    fi
    # a new timeline at the end: the Gridbook server sees the restore and waits for mark-restored
    echo "recovery_target_action = 'promote'"
  } >>"$to/postgresql.auto.conf"
  touch "$to/recovery.signal"
  log "prepared $to; next: start PostgreSQL on it, then"
  log "  pg-backup.sh wait-recovered --url URL"
  log "  gridbook-sync-server admin --database-url URL mark-restored"
}

wait_recovered() {
  local url="" timeout=600
  options "url timeout" "$@"
  [ -n "$url" ] || die "usage: pg-backup.sh wait-recovered --url URL [--timeout S]"
  need psql
  wait_for "$url" "SELECT NOT pg_is_in_recovery()" "$timeout" "recovered (promoted)"
  for setting in recovery_target recovery_target_time recovery_target_action; do
    psql_value "$url" "ALTER SYSTEM RESET $setting" >/dev/null ||
      log "could not reset $setting (a superuser can: ALTER SYSTEM RESET $setting)"
  done
  psql_value "$url" "SELECT pg_reload_conf()" >/dev/null || true
  local timeline
  timeline=$(psql_value "$url" "SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)")
  log "recovered: on timeline $((16#$timeline)); now run gridbook-sync-server admin --database-url URL mark-restored"
}

cmd="${1:-}"
[ $# -gt 0 ] && shift
case "$cmd" in
  archive-command) archive_command "$@"; echo ;;
  enable-archiving) enable_archiving "$@" ;;
  base-backup) base_backup "$@" ;;
  verify) verify "$@" ;;
  archive-now) archive_now "$@" ;;
  restore) restore "$@" ;;
  wait-recovered) wait_recovered "$@" ;;
  *) log "usage: pg-backup.sh archive-command | enable-archiving | base-backup | verify | archive-now | restore | wait-recovered (see the head of the script)"; exit 2 ;;
esac
