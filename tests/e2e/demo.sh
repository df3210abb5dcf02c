#!/usr/bin/env bash
# The main job, shown: runs the end-to-end MCP scenario through McpGuard against a real PDP and prints the
# session's decision chain as read from the compliance views. Called by `scripts/run.sh demo`, which builds pdp
# (Release) and starts PostgreSQL first.
#   tests/e2e/demo.sh "Host=127.0.0.1;Port=55432;Username=postgres;Database=postgres"
# Env: PDP_LISTEN (default 127.0.0.1:50051), PDP_DLL (default src/Pdp/bin/Release/net10.0/pdp.dll),
#      PDP_STATE_DIR (default .run), LATENCY_CALLS (default 20).
set -euo pipefail
cd "$(dirname "$0")/../.."
conn="${1:?usage: tests/e2e/demo.sh CONNECTION_STRING}"
listen="${PDP_LISTEN:-127.0.0.1:50051}"
pdp_dll="${PDP_DLL:-src/Pdp/bin/Release/net10.0/pdp.dll}"
state="${PDP_STATE_DIR:-$PWD/.run}"
mkdir -p "$state"
[ -f "$pdp_dll" ] || { echo "demo: $pdp_dll not found (build src/Pdp first)" >&2; exit 1; }
pdp_dll="$(realpath "$pdp_dll")"
[ -d tests/e2e/node_modules/@modelcontextprotocol/server-filesystem ] || { echo "demo: run npm ci --prefix tests/e2e" >&2; exit 1; }

# Npgsql-style "Host=..;Port=..;Username=..;Database=.." to a psql URI.
kv() { printf '%s' "$conn" | tr ';' '\n' | sed -n "s/^$1=//Ip" | head -n1; }
pg_uri="postgresql://$(kv Username)@$(kv Host):$(kv Port)/$(kv Database)"

dotnet "$pdp_dll" serve --policy rego --db "$conn" --listen "$listen" --spool "$state/spool" >"$state/pdp.log" 2>&1 &
pdp_pid=$!
trap 'kill "$pdp_pid" 2>/dev/null || true; wait "$pdp_pid" 2>/dev/null || true' EXIT
host="${listen%:*}"; port="${listen##*:}"
for _ in $(seq 1 120); do
  if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then break; fi
  kill -0 "$pdp_pid" 2>/dev/null || { echo "demo: pdp serve exited; its log:" >&2; cat "$state/pdp.log" >&2; exit 1; }
  sleep 0.5
done

echo "== scenario: TypeScript MCP client -> pdp mcp-guard -> server-filesystem (one JSON line per step)"
set +e
out="$(PDP_COMMAND="[\"dotnet\",\"$pdp_dll\"]" PDP_ADDRESS="http://$listen" LATENCY_CALLS="${LATENCY_CALLS:-20}" \
  node tests/e2e/scenario.mjs 2>"$state/scenario.stderr")"
status=$?
set -e
printf '%s\n' "$out"
session="$(printf '%s\n' "$out" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{for(const l of s.split("\n")){try{const j=JSON.parse(l);if(j.step==="setup"){console.log(j.session_id);return}}catch{}}})')"
[ -n "$session" ] || { echo "demo: the scenario did not start; see $state/scenario.stderr" >&2; exit 1; }

echo
echo "== compliance.decision_chain for session $session"
psql "$pg_uri" -X -q -P pager=off -c "
  SELECT step, left(decision_id::text, 13) AS decision, left(coalesce(parent_decision_id::text, '-'), 13) AS parent,
         tool, decision AS verdict,
         (SELECT string_agg(r->>'code', ',') FROM jsonb_array_elements(reasons) r) AS reasons,
         coalesce((SELECT string_agg(o->>'status', ',') FROM jsonb_array_elements(outcomes) o), '') AS outcome
  FROM compliance.decision_chain WHERE session_id = '$session' ORDER BY step;"
exit "$status"
