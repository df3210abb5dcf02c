#!/usr/bin/env bash
# Throwaway local PostgreSQL (15) for development and tests, from the installed initdb/pg_ctl.
#
#   scripts/pg.sh start DIR PORT        initdb DIR/data if needed, start on 127.0.0.1:PORT, print the connection string
#   scripts/pg.sh stop DIR [MODE]       stop it (MODE: fast (default), immediate, smart); no-op when not running
#   scripts/pg.sh status DIR            exit 0 when running
#
# Trust authentication on 127.0.0.1 only, unix socket inside DIR, fsync on. Idempotent: start on a running
# cluster just prints the connection string. When run as root, the server runs as user postgres.
set -euo pipefail

usage() { echo "usage: $0 start DIR PORT | stop DIR [fast|immediate|smart] | status DIR" >&2; exit 2; }

as_pg() {
  if [ "$(id -u)" = "0" ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

cmd="${1:-}"; dir="${2:-}"
[ -n "$cmd" ] && [ -n "$dir" ] || usage
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
data="$dir/data"

is_running() { [ -f "$data/PG_VERSION" ] && as_pg pg_ctl status -D "$data" >/dev/null 2>&1; }

case "$cmd" in
  start)
    port="${3:-}"
    [[ "$port" =~ ^[0-9]+$ ]] || { echo "pg.sh: PORT must be a number, got '${port}'" >&2; exit 2; }
    if [ "$(id -u)" = "0" ]; then chown postgres: "$dir"; chmod 700 "$dir"; fi
    if [ ! -f "$data/PG_VERSION" ]; then
      as_pg initdb -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
      # host-only trust: no password, loopback TCP and the private socket only.
      cat >"$data/pg_hba.conf" <<HBA
local all all trust
host  all all 127.0.0.1/32 trust
HBA
    fi
    # Rewritten on every start so a changed PORT takes effect; postgresql.auto.conf wins over postgresql.conf.
    cat >"$data/postgresql.auto.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
fsync = on
synchronous_commit = on
max_connections = 100
shared_buffers = 64MB
# Backends write out the pages they evict a few at a time instead of leaving them dirty in the page cache: the
# kernel otherwise writes them back in bursts that hold up every fsync on the disk (the PDP's spool included) for
# 100-250 ms at a time under the load bench.
backend_flush_after = 256kB
CONF
    if [ "$(id -u)" = "0" ]; then chown postgres: "$data/postgresql.auto.conf" "$data/pg_hba.conf"; fi
    if ! is_running; then
      as_pg pg_ctl start -D "$data" -l "$dir/server.log" -w -t 60 >/dev/null \
        || { tail -n 30 "$dir/server.log" >&2; exit 1; }
    fi
    echo "Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres"
    ;;
  stop)
    mode="${3:-fast}"
    case "$mode" in fast|immediate|smart) ;; *) usage ;; esac
    if is_running; then as_pg pg_ctl stop -D "$data" -m "$mode" -w -t 60 >/dev/null; fi
    ;;
  status)
    is_running
    ;;
  *) usage ;;
esac
