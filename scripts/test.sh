#!/usr/bin/env bash
# Runs every test of PolicyPoint: the .NET suites (Rego engine with OPA's conformance cases, the PDP service on a
# real PostgreSQL, McpGuard end to end on real npm MCP servers) and the MCP policy library's Rego unit tests.
# PostgreSQL clusters are throwaway ones the test fixtures start from the installed binaries.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d tests/e2e/node_modules ]; then
  npm ci --prefix tests/e2e --no-audit --no-fund
fi

dotnet build PolicyPoint.sln -c Release -nologo -v quiet
results="$(mktemp -d)"
status=0
dotnet test PolicyPoint.sln -c Release --no-build -nologo --logger "trx" --results-directory "$results" \
  --logger "console;verbosity=normal" || status=$?

echo "== pdp test rego/"
dotnet src/Pdp/bin/Release/net10.0/pdp.dll test rego/ | tee "$results/rego-tests.txt" || status=$?

# One closing line over every .NET test result (trx files) and the Rego unit tests, in the form CI reads.
python3 - "$results" <<'PY' || true
import sys, glob, re, xml.etree.ElementTree as ET
p = f = 0
for t in glob.glob(sys.argv[1] + "/*.trx"):
    c = ET.parse(t).getroot().find(".//{*}Counters")
    if c is not None:
        p += int(c.get("passed", 0)); f += int(c.get("failed", 0)) + int(c.get("error", 0)) + int(c.get("timeout", 0))
for kind, n in re.findall(r"^(PASS|FAIL|ERROR|SKIPPED): (\d+)/\d+$", open(sys.argv[1] + "/rego-tests.txt").read(), re.M):
    if kind == "PASS": p += int(n)
    elif kind in ("FAIL", "ERROR"): f += int(n)
print(f"tests: {p} passed, {f} failed")
PY
exit $status
