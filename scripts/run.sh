#!/usr/bin/env bash
# The main job. Builds PolicyPoint, starts a throwaway local PostgreSQL (state in .run/, from the installed
# PostgreSQL 15 binaries), then `pdp serve` migrates it and serves the rego/ policy library on 127.0.0.1:50051.
#   scripts/run.sh          serve until Ctrl-C (PostgreSQL is stopped on exit)
#   scripts/run.sh demo     run the end-to-end MCP scenario through McpGuard and print the session's decision
#                           chain as read from the compliance views
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-serve}"
state="${PDP_STATE_DIR:-$PWD/.run}"
pg_port="${PDP_PG_PORT:-55432}"
listen="${PDP_LISTEN:-127.0.0.1:50051}"
mkdir -p "$state"

dotnet build src/Pdp/Pdp.csproj -c Release -nologo -v quiet
conn="$(bash scripts/pg.sh start "$state/pg" "$pg_port")"
trap 'bash scripts/pg.sh stop "$state/pg" >/dev/null 2>&1 || true' EXIT

case "$mode" in
  serve)
    echo "PostgreSQL: $conn" >&2
    echo "PDP: gRPC on $listen, policy rego/ (entrypoint data.policypoint.mcp.decision)" >&2
    dotnet src/Pdp/bin/Release/net10.0/pdp.dll serve --policy rego --db "$conn" --listen "$listen" --spool "$state/spool"
    ;;
  demo)
    [ -d tests/e2e/node_modules ] || npm ci --prefix tests/e2e --no-audit --no-fund
    bash tests/e2e/demo.sh "$conn"
    ;;
  *) echo "usage: scripts/run.sh [serve|demo]" >&2; exit 2 ;;
esac
