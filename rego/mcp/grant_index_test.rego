# The workload index over grants: literal SPIFFE IDs are looked up, glob patterns are scanned, and the
# decision is the same as matching every grant.
package policypoint.mcp_test

import data.policypoint.mcp

index_grants := [
	{"id": "exact", "workloads": ["spiffe://example.org/agent/y"], "servers": ["filesystem"], "tools": ["read_text_file"]},
	{"id": "glob", "workloads": ["spiffe://example.org/team/*"], "servers": ["filesystem"], "tools": ["read_text_file"]},
	{"id": "class", "workloads": ["spiffe://example.org/agent/[yz]"], "servers": ["mail"], "tools": ["send_email"]},
	{"id": "mixed", "workloads": ["spiffe://example.org/agent/w", "spiffe://example.org/ops/**"], "servers": ["*"], "tools": ["*"]},
	{"id": "odd", "workloads": [42, "spiffe://example.org/agent/q"], "servers": ["filesystem"], "tools": ["*"]},
]

test_index_splits_literal_and_glob_patterns if {
	idx := mcp.grant_keys_by_workload with data.policypoint.config.grants as index_grants
	idx == {
		"spiffe://example.org/agent/y": {0},
		"spiffe://example.org/agent/w": {3},
		"spiffe://example.org/agent/q": {4},
	}
	globs := mcp.glob_workload_grant_keys with data.policypoint.config.grants as index_grants
	globs == {1, 2, 3, 4}
}

test_index_literal_id_matches_its_grant_only if {
	ids := {g.id | some g in mcp.matching_grants} with data.policypoint.config.grants as index_grants
		with input as call(agent_y, "filesystem", "read_text_file", {})
	ids == {"exact"}
}

test_index_no_match_without_identity if {
	grants := array.concat(index_grants, [{"id": "empty", "workloads": [""], "servers": ["*"], "tools": ["*"]}])
	ids := {g.id | some g in mcp.matching_grants} with data.policypoint.config.grants as grants
		with input as call("", "filesystem", "read_text_file", {})
	ids == set()
}

test_index_literal_grant_still_checks_server_tool_and_expiry if {
	grants := [
		{"id": "other-tool", "workloads": [agent_y], "servers": ["filesystem"], "tools": ["write_file"]},
		{"id": "expired", "workloads": [agent_y], "servers": ["filesystem"], "tools": ["*"], "expires_at": "2025-01-01T00:00:00Z"},
		{"id": "ok", "workloads": [agent_y], "servers": ["file*"], "tools": ["read_*"]},
	]
	ids := {g.id | some g in mcp.matching_grants} with data.policypoint.config.grants as grants
		with input as call(agent_y, "filesystem", "read_text_file", {})
	ids == {"ok"}
}

test_index_exact_grant_does_not_match_other_ids if {
	ids := {g.id | some g in mcp.matching_grants} with data.policypoint.config.grants as index_grants
		with input as call("spiffe://example.org/agent/y2", "filesystem", "read_text_file", {})
	ids == set()
}

test_index_glob_and_class_grants_still_match if {
	glob := {g.id | some g in mcp.matching_grants} with data.policypoint.config.grants as index_grants
		with input as call("spiffe://example.org/team/bot", "filesystem", "read_text_file", {})
	glob == {"glob"}
	class := {g.id | some g in mcp.matching_grants} with data.policypoint.config.grants as index_grants
		with input as call("spiffe://example.org/agent/z", "mail", "send_email", {})
	class == {"class"}
	mixed := {g.id | some g in mcp.matching_grants} with data.policypoint.config.grants as index_grants
		with input as call("spiffe://example.org/ops/a/b", "crm", "anything", {})
	mixed == {"mixed"}
	literal_of_mixed := {g.id | some g in mcp.matching_grants} with data.policypoint.config.grants as index_grants
		with input as call("spiffe://example.org/agent/w", "crm", "anything", {})
	literal_of_mixed == {"mixed"}
}

test_index_grant_with_a_non_string_pattern_matches_by_its_other_patterns if {
	ids := {g.id | some g in mcp.matching_grants} with data.policypoint.config.grants as index_grants
		with input as call("spiffe://example.org/agent/q", "filesystem", "list_directory", {})
	ids == {"odd"}
}

test_index_grants_as_an_object_still_work if {
	grants := {"a": index_grants[0], "b": index_grants[1]}
	ids := {g.id | some g in mcp.matching_grants} with data.policypoint.config.grants as grants
		with input as call(agent_y, "filesystem", "read_text_file", {})
	ids == {"exact"}
}

test_index_decision_allows_exact_grant if {
	inp := call(agent_y, "filesystem", "list_allowed_directories", {})
	grants := array.concat(index_grants, [{"id": "y-list", "workloads": [agent_y], "servers": ["filesystem"], "tools": ["list_allowed_directories"]}])
	d := mcp.decision with data.policypoint.config.grants as grants with input as inp
	allowed(d)
	d.reasons[0].message == "allowed by grant y-list"
}
