# JIT credentials: expiry, maximum TTL, long-lived credentials on sensitive tools.
package policypoint.mcp_test

import data.policypoint.mcp

read_notes := fs("read_text_file", {"path": concat("/", [workspace, "notes.txt"])})

test_deny_expired_credential if {
	cred := {"id": "c-old", "kind": "jit", "issued_at_ns": now - (20 * minute), "expires_at_ns": now - (5 * minute)}
	call_input := set_field(read_notes, "credential", cred)
	d := mcp.decision with input as call_input
	denied_with(d, "credential_expired")
	codes(d) == {"credential_expired"}
}

test_deny_credential_expiring_exactly_now if {
	cred := {"id": "c-edge", "kind": "jit", "issued_at_ns": now - minute, "expires_at_ns": now}
	call_input := set_field(read_notes, "credential", cred)
	d := mcp.decision with input as call_input
	denied_with(d, "credential_expired")
}

test_deny_expired_credential_from_rfc3339 if {
	cred := {"id": "c-old", "kind": "jit", "issued_at": "2025-12-31T23:30:00Z", "expires_at": "2025-12-31T23:45:00Z"}
	call_input := set_field(read_notes, "credential", cred)
	d := mcp.decision with input as call_input
	denied_with(d, "credential_expired")
}

test_allow_valid_credential_from_rfc3339 if {
	cred := {"id": "c-new", "kind": "jit", "issued_at": "2025-12-31T23:59:00Z", "expires_at": "2026-01-01T00:10:00Z"}
	call_input := set_field(read_notes, "credential", cred)
	d := mcp.decision with input as call_input
	allowed(d)
}

test_deny_jit_ttl_too_long if {
	cred := {"id": "c-long", "kind": "jit", "issued_at_ns": now - minute, "expires_at_ns": now + (2 * hour)}
	call_input := set_field(read_notes, "credential", cred)
	d := mcp.decision with input as call_input
	denied_with(d, "credential_ttl_too_long")
}

test_allow_jit_ttl_at_maximum if {
	cred := {"id": "c-max", "kind": "jit", "issued_at_ns": now - minute, "expires_at_ns": (now - minute) + hour}
	call_input := set_field(read_notes, "credential", cred)
	d := mcp.decision with input as call_input
	allowed(d)
}

test_jit_ttl_without_issue_time_counts_from_now if {
	cred := {"id": "c-no-issue", "kind": "jit", "expires_at_ns": now + (2 * hour)}
	call_input := set_field(read_notes, "credential", cred)
	d := mcp.decision with input as call_input
	denied_with(d, "credential_ttl_too_long")
}

test_deny_jit_without_expiry if {
	cred := {"id": "c-forever", "kind": "jit", "issued_at_ns": now - minute, "expires_at_ns": 0}
	call_input := set_field(read_notes, "credential", cred)
	d := mcp.decision with input as call_input
	denied_with(d, "credential_ttl_too_long")
}

test_max_ttl_comes_from_data if {
	d := mcp.decision with input as read_notes with data.policypoint.config.settings.jit_max_ttl_seconds as 300
	denied_with(d, "credential_ttl_too_long")
}

test_allow_long_lived_for_ordinary_tool if {
	cred := {"id": "c-ll", "kind": "long_lived", "issued_at_ns": now - (100 * hour)}
	call_input := set_field(read_notes, "credential", cred)
	d := mcp.decision with input as call_input
	allowed(d)
}

test_deny_expired_long_lived if {
	cred := {"id": "c-ll", "kind": "long_lived", "issued_at_ns": now - (100 * hour), "expires_at_ns": now - hour}
	call_input := set_field(read_notes, "credential", cred)
	d := mcp.decision with input as call_input
	denied_with(d, "credential_expired")
}

test_deny_long_lived_for_sensitive_tool if {
	cred := {"id": "c-ll", "kind": "long_lived", "issued_at_ns": now - (100 * hour)}
	inp := set_field(call(finance_bot, "payments", "get_balance", {}), "credential", cred)
	d := mcp.decision with input as inp
	denied_with(d, "credential_long_lived_sensitive")
	codes(d) == {"credential_long_lived_sensitive"}
}

test_allow_jit_for_sensitive_tool if {
	call_input := call(finance_bot, "payments", "get_balance", {})
	d := mcp.decision with input as call_input
	allowed(d)
}

test_kind_is_case_insensitive if {
	cred := {"id": "c-ll", "kind": "LONG_LIVED", "issued_at_ns": now - hour}
	inp := set_field(call(finance_bot, "payments", "get_balance", {}), "credential", cred)
	d := mcp.decision with input as inp
	denied_with(d, "credential_long_lived_sensitive")
}

test_deny_missing_credential_for_sensitive_tool if {
	inp := {k: v | some k, v in call(finance_bot, "payments", "get_balance", {}); k != "credential"}
	d := mcp.decision with input as inp
	denied_with(d, "credential_missing")
}

test_allow_missing_credential_for_ordinary_tool if {
	inp := {k: v | some k, v in read_notes; k != "credential"}
	d := mcp.decision with input as inp
	allowed(d)
}

test_deny_unknown_credential_kind if {
	cred := {"id": "c-x", "kind": "password", "issued_at_ns": now - minute, "expires_at_ns": now + minute}
	call_input := set_field(read_notes, "credential", cred)
	d := mcp.decision with input as call_input
	denied_with(d, "credential_kind_unknown")
}

test_deny_expired_credential_of_unspecified_kind if {
	cred := {"id": "c-unknown", "issued_at_ns": now - hour, "expires_at_ns": now - minute}
	call_input := set_field(read_notes, "credential", cred)
	d := mcp.decision with input as call_input
	denied_with(d, "credential_expired")
	codes(d) == {"credential_expired"}
}
