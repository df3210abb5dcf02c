# Grants: default deny, identities, servers, tools, argument constraints.
package policypoint.mcp_test

import data.policypoint.mcp

test_allow_read_in_workspace if {
	inp := fs("read_text_file", {"path": concat("/", [workspace, "notes.txt"])})
	d := mcp.decision with input as inp
	allowed(d)
	codes(d) == {"granted"}
	d.exception == null
	d.obligations == {}
	d.reasons[0].message == "allowed by grant agent-x-filesystem"
}

test_allow_workspace_root_itself if {
	inp := fs("list_directory", {"path": workspace})
	d := mcp.decision with input as inp
	allowed(d)
}

test_allow_tool_without_path_arguments if {
	inp := fs("list_allowed_directories", {})
	d := mcp.decision with input as inp
	allowed(d)
}

test_server_alias_from_server_info_name if {
	inp := call(agent_x, "secure-filesystem-server", "read_text_file", {"path": concat("/", [workspace, "a.txt"])})
	d := mcp.decision with input as inp
	allowed(d)
}

test_deny_second_identity_without_grant if {
	inp := call(agent_y, "filesystem", "read_text_file", {"path": concat("/", [workspace, "notes.txt"])})
	d := mcp.decision with input as inp
	denied_with(d, "no_grant")
	codes(d) == {"no_grant"}
	d.reasons[0].message == "no grant allows workload spiffe://example.org/agent/y to call tool read_text_file on server filesystem"
	d.exception == null
}

test_deny_tool_not_in_grant if {
	inp := fs("delete_everything", {"path": workspace})
	d := mcp.decision with input as inp
	denied_with(d, "no_grant")
}

test_deny_unknown_server if {
	inp := call(agent_x, "shell", "run", {"command": "id"})
	d := mcp.decision with input as inp
	denied_with(d, "no_grant")
}

test_deny_missing_identity if {
	inp := set_field(fs("read_text_file", {"path": workspace}), "workload", {})
	d := mcp.decision with input as inp
	denied_with(d, "identity_missing")
	not "no_grant" in codes(d)
}

test_deny_empty_input if {
	d := mcp.decision with input as {}
	d.allow == false
	d.require_approval == false
	"identity_missing" in codes(d)
}

test_deny_write_outside_prefix if {
	inp := fs("write_file", {"path": "/tmp/policypoint-demo/elsewhere/x.txt", "content": "hi"})
	d := mcp.decision with input as inp
	denied_with(d, "argument_not_allowed")
	codes(d) == {"argument_not_allowed"}
}

test_deny_sibling_of_prefix if {
	inp := fs("read_text_file", {"path": "/tmp/policypoint-demo/workspace-evil/x.txt"})
	d := mcp.decision with input as inp
	denied_with(d, "argument_not_allowed")
}

test_deny_path_traversal if {
	inp := fs("read_text_file", {"path": concat("/", [workspace, "..", "..", "..", "etc", "passwd"])})
	d := mcp.decision with input as inp
	denied_with(d, "argument_not_allowed")
}

test_deny_relative_path if {
	inp := fs("read_text_file", {"path": "notes.txt"})
	d := mcp.decision with input as inp
	denied_with(d, "argument_not_allowed")
}

test_deny_non_string_path if {
	inp := fs("read_text_file", {"path": 42})
	d := mcp.decision with input as inp
	denied_with(d, "argument_not_allowed")
}

test_deny_one_of_many_paths_outside if {
	inp := fs("read_multiple_files", {"paths": [concat("/", [workspace, "a.txt"]), "/etc/shadow"]})
	d := mcp.decision with input as inp
	denied_with(d, "argument_not_allowed")
	count(d.reasons) == 1
}

test_allow_many_paths_inside if {
	inp := fs("read_multiple_files", {"paths": [concat("/", [workspace, "a.txt"]), concat("/", [workspace, "b.txt"])]})
	d := mcp.decision with input as inp
	allowed(d)
}

test_deny_move_destination_outside if {
	inp := fs("move_file", {"source": concat("/", [workspace, "a.txt"]), "destination": "/home/user/a.txt"})
	d := mcp.decision with input as inp
	denied_with(d, "argument_not_allowed")
}

test_workload_glob_matches_one_segment if {
	inp := call(finance_bot, "payments", "transfer_funds", {"amount": 10})
	d := mcp.decision with input as inp
	not "no_grant" in codes(d)

	deeper := call("spiffe://example.org/finance/team/bot-2", "payments", "transfer_funds", {"amount": 10})
	d2 := mcp.decision with input as deeper
	denied_with(d2, "no_grant")
}

test_workload_glob_needs_exact_trust_domain if {
	inp := call("spiffe://evil.org/finance/bot-1", "payments", "get_balance", {})
	d := mcp.decision with input as inp
	denied_with(d, "no_grant")
}

test_argument_pattern_allows_matching_value if {
	inp := call(agent_x, "mail", "send_email", {"to": "bob@example.org", "subject": "hi"})
	d := mcp.decision with input as inp
	allowed(d)
	"egress" in d.labels
}

test_argument_pattern_denies_other_value if {
	inp := call(agent_x, "mail", "send_email", {"to": "eve@evil.example", "subject": "hi"})
	d := mcp.decision with input as inp
	denied_with(d, "argument_not_allowed")
}

test_argument_pattern_denies_missing_argument if {
	inp := call(agent_x, "mail", "send_email", {"subject": "hi"})
	d := mcp.decision with input as inp
	denied_with(d, "argument_not_allowed")
}

test_expired_grant_no_longer_matches if {
	grants := [{
		"id": "temporary",
		"workloads": [agent_y],
		"servers": ["filesystem"],
		"tools": ["read_text_file"],
		"expires_at": "2025-12-31T23:59:59Z",
	}]
	inp := call(agent_y, "filesystem", "read_text_file", {"path": concat("/", [workspace, "a.txt"])})
	d := mcp.decision with input as inp with data.policypoint.config.grants as grants
	denied_with(d, "no_grant")
}

test_grant_with_future_expiry_and_no_prefixes if {
	grants := [{
		"id": "temporary",
		"workloads": [agent_y],
		"servers": ["filesystem"],
		"tools": ["read_*"],
		"expires_at": "2026-01-02T00:00:00Z",
	}]
	inp := call(agent_y, "filesystem", "read_text_file", {"path": "/var/log/syslog"})
	d := mcp.decision with input as inp with data.policypoint.config.grants as grants
	allowed(d)
}

test_grant_with_unparsable_expiry_is_expired if {
	grants := [{
		"id": "typo",
		"workloads": [agent_y],
		"servers": ["filesystem"],
		"tools": ["*"],
		"expires_at": "next tuesday",
	}]
	inp := call(agent_y, "filesystem", "read_text_file", {"path": "/var/log/syslog"})
	d := mcp.decision with input as inp with data.policypoint.config.grants as grants
	denied_with(d, "no_grant")
}

test_no_configuration_denies_everything if {
	inp := fs("read_text_file", {"path": concat("/", [workspace, "notes.txt"])})
	d := mcp.decision with input as inp with data.policypoint.config as {}
	denied_with(d, "no_grant")
}

test_arguments_split_across_grants_are_denied if {
	grants := [
		{"id": "a", "workloads": [agent_y], "servers": ["filesystem"], "tools": ["read_multiple_files"], "path_prefixes": ["/srv/a"]},
		{"id": "b", "workloads": [agent_y], "servers": ["filesystem"], "tools": ["read_multiple_files"], "path_prefixes": ["/srv/b"]},
	]
	call_input := call(agent_y, "filesystem", "read_multiple_files", {"paths": ["/srv/a/1.txt", "/srv/b/2.txt"]})
	d := mcp.decision with input as call_input with data.policypoint.config.grants as grants
	denied_with(d, "argument_not_allowed")
	d.reasons[0].message == "no single matching grant accepts all arguments of this call"

	single := call(agent_y, "filesystem", "read_multiple_files", {"paths": ["/srv/a/1.txt", "/srv/a/2.txt"]})
	d2 := mcp.decision with input as single with data.policypoint.config.grants as grants
	allowed(d2)
	d2.reasons[0].message == "allowed by grant a"
}

test_deny_arguments_that_are_not_an_object if {
	call_input := fs("read_text_file", ["/etc/passwd"])
	d := mcp.decision with input as call_input
	denied_with(d, "argument_not_allowed")
	d.reasons[0].message == "the arguments must be an object"
}

test_null_arguments_are_no_arguments if {
	call_input := fs("list_allowed_directories", null)
	d := mcp.decision with input as call_input
	allowed(d)
}

test_deny_paths_that_dodge_prefixes if {
	every p in [
		concat("", [workspace, "/./secrets/api-keys.txt"]),
		concat("", [workspace, "//secrets/api-keys.txt"]),
		concat("", [workspace, "/secrets/."]),
		"~/notes.txt",
	] {
		call_input := fs("read_text_file", {"path": p})
		d := mcp.decision with input as call_input
		denied_with(d, "argument_not_allowed")
	}
}

test_trailing_slash_is_still_within_prefix if {
	call_input := fs("list_directory", {"path": concat("", [secrets, "/"])})
	d := mcp.decision with input as call_input
	allowed(d)
	d.labels == ["sensitive"]
}
