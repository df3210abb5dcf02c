# The shape of the entrypoint's answer, which the PDP service maps onto CheckResponse.
package policypoint.mcp_test

import data.policypoint.mcp

test_decision_has_every_field if {
	call_input := fs("read_text_file", {"path": concat("/", [workspace, "a.txt"])})
	d := mcp.decision with input as call_input
	object.keys(d) == {"allow", "require_approval", "reasons", "exception", "obligations", "labels"}
	is_boolean(d.allow)
	is_boolean(d.require_approval)
	is_array(d.reasons)
	is_object(d.obligations)
	is_array(d.labels)
	every r in d.reasons {
		object.keys(r) == {"code", "message", "rule"}
		is_string(r.message)
	}
}

test_every_refusal_carries_a_reason if {
	inputs := [
		{},
		{"tool": {"name": "read_text_file"}},
		call(agent_y, "filesystem", "read_text_file", {"path": workspace}),
		fs("write_file", {"path": "/etc/passwd", "content": ""}),
	]
	every inp in inputs {
		d := mcp.decision with input as inp
		d.allow == false
		count(d.reasons) > 0
		every r in d.reasons {
			r.code != ""
			r.message != ""
		}
	}
}

test_several_deny_reasons_are_all_reported if {
	cred := {"id": "c-old", "kind": "jit", "issued_at_ns": now - hour, "expires_at_ns": now - minute}
	inp := set_field(fs("write_file", {"path": "/etc/passwd", "content": ""}), "credential", cred)
	d := mcp.decision with input as inp
	codes(d) == {"argument_not_allowed", "credential_expired"}
}

test_decision_time_defaults_to_the_clock if {
	inp := {k: v | some k, v in fs("read_text_file", {"path": concat("/", [workspace, "a.txt"])}); k != "request"}
	d := mcp.decision with input as inp
	is_boolean(d.allow)
}

# Defense in depth: allow needs a matching grant, not merely the absence of deny reasons; and a refusal without any
# deny reason still carries one (default_deny).
test_allow_needs_a_grant_even_without_deny_reasons if {
	call_input := call(agent_y, "filesystem", "read_text_file", {"path": concat("/", [workspace, "a.txt"])})
	d := mcp.decision with input as call_input with data.policypoint.mcp.deny as set()
	d.allow == false
	d.require_approval == false
	codes(d) == {"default_deny"}
}

# Odd shapes anywhere in the input never raise an evaluation error and never allow.
test_malformed_inputs_are_denied_without_errors if {
	inputs := [
		"not an object",
		{"workload": "spiffe://example.org/agent/x"},
		{"workload": {"spiffe_id": 42}},
		{"workload": {"spiffe_id": agent_x}, "tool": "read_text_file"},
		{"workload": {"spiffe_id": agent_x}, "tool": {"server": ["filesystem"], "name": "read_text_file"}},
		{"workload": {"spiffe_id": agent_x}, "tool": {"server": "filesystem", "name": "read_text_file", "arguments": ["x"]}},
		{"workload": {"spiffe_id": agent_x}, "tool": {"server": "filesystem", "name": "write_file", "arguments": {"path": ["/tmp", 1]}}},
		{"workload": {"spiffe_id": agent_x}, "tool": {"server": "filesystem", "name": "write_file", "arguments": {"path": null}, "annotations": {"destructiveHint": 1}}},
		{"workload": {"spiffe_id": agent_x}, "tool": {"server": "payments", "name": "get_balance"}, "credential": "token"},
		{"workload": {"spiffe_id": agent_x}, "tool": {"server": "mail", "name": "send_email"}, "session": {"history": "lots"}},
		{"workload": {"spiffe_id": agent_x}, "tool": {"server": "mail", "name": "send_email"}, "session": {"history": [1, "x", {"labels": "sensitive", "decision": 7}]}},
		{"workload": {"spiffe_id": agent_x}, "tool": {"server": "filesystem", "name": "read_text_file", "arguments": {"path": "/tmp/policypoint-demo/elsewhere/a"}}, "credential": {"kind": "jit", "expires_at": "tomorrow", "issued_at_ns": "0"}},
		{"workload": {"spiffe_id": agent_x}, "tool": {"server": "filesystem", "name": "read_text_file", "arguments": {"path": "/etc/passwd"}}, "request": {"time_ns": "now"}},
	]
	every inp in inputs {
		d := mcp.decision with input as inp
		d.allow == false
		count(d.reasons) > 0
	}
}
