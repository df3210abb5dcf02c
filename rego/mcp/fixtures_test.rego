# Shared fixtures for the policy's unit tests (run with `pdp test rego/`).
#
# Every test builds its input with these helpers and evaluates data.policypoint.mcp.decision against the
# shipped configuration in rego/data.yaml, replacing parts of it with `with data.policypoint.config...`
# where a test needs a different configuration.
package policypoint.mcp_test

# The decision time of every test: 2026-01-01T00:00:00Z, in nanoseconds.
now := 1767225600000000000

second := 1000000000

minute := 60000000000

hour := 3600000000000

agent_x := "spiffe://example.org/agent/x"

agent_y := "spiffe://example.org/agent/y"

finance_bot := "spiffe://example.org/finance/bot-1"

oncall := "spiffe://example.org/oncall/alice"

workspace := "/tmp/policypoint-demo/workspace"

secrets := "/tmp/policypoint-demo/workspace/secrets"

outbox := "/tmp/policypoint-demo/outbox"

# A JIT credential issued a minute ago, valid for 15 more minutes.
jit_credential := {
	"id": "cred-jit-1",
	"kind": "jit",
	"issued_at_ns": now - minute,
	"expires_at_ns": now + (15 * minute),
	"scopes": ["filesystem"],
}

# The input document for one `tools/call` by `spiffe_id` with a fresh JIT credential and an empty session.
call(spiffe_id, server, tool, args) := {
	"workload": {"spiffe_id": spiffe_id, "issuer": "", "subject": "", "attributes": {}},
	"tool": {"server": server, "name": tool, "arguments": args, "annotations": {}},
	"resource": {"type": "", "id": "", "sensitivity": ""},
	"context": {},
	"credential": jit_credential,
	"session": {"session_id": "session-1", "parent_decision_id": "", "history": []},
	"request": {"time": "2026-01-01T00:00:00Z", "time_ns": now},
}

# `inp` with its top-level field `key` replaced by `value`.
set_field(inp, key, value) := object.union({k: v | some k, v in inp; k != key}, {key: value})

# Agent X calling the filesystem server.
fs(tool, args) := call(agent_x, "filesystem", tool, args)

# `inp` whose session already holds `history` (the PDP's record of earlier decisions).
with_history(inp, history) := set_field(inp, "session", {"session_id": "session-1", "parent_decision_id": "d-0", "history": history})

# The set of reason codes of a decision.
codes(d) := {r.code | some r in d.reasons}

denied_with(d, code) if {
	d.allow == false
	d.require_approval == false
	code in codes(d)
}

allowed(d) if {
	d.allow == true
	d.require_approval == false
}
