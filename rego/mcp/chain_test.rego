# Session chaining: once a session touched sensitive data, egress is denied.
package policypoint.mcp_test

import data.policypoint.mcp

secret_file := concat("/", [secrets, "api-keys.txt"])

# What the PDP records for an allowed read of a sensitive file.
sensitive_read_record := {
	"decision_id": "d-secret-read",
	"tool": "read_text_file",
	"server": "filesystem",
	"resource": {"type": "", "id": "", "sensitivity": ""},
	"decision": "allow",
	"labels": ["sensitive"],
	"time": "2025-12-31T23:59:00Z",
}

ordinary_read_record := {
	"decision_id": "d-notes-read",
	"tool": "read_text_file",
	"server": "filesystem",
	"decision": "allow",
	"labels": [],
	"time": "2025-12-31T23:58:00Z",
}

send_mail := call(agent_x, "mail", "send_email", {"to": "bob@example.org", "subject": "results"})

test_read_under_sensitive_prefix_is_labelled_sensitive if {
	call_input := fs("read_text_file", {"path": secret_file})
	d := mcp.decision with input as call_input
	allowed(d)
	d.labels == ["sensitive"]
}

test_resource_sensitivity_labels_sensitive if {
	inp := set_field(fs("read_text_file", {"path": concat("/", [workspace, "hr.csv"])}), "resource", {"type": "file", "id": "hr.csv", "sensitivity": "Confidential"})
	d := mcp.decision with input as inp
	"sensitive" in d.labels
}

test_ordinary_read_has_no_labels if {
	call_input := fs("read_text_file", {"path": concat("/", [workspace, "notes.txt"])})
	d := mcp.decision with input as call_input
	d.labels == []
}

test_egress_allowed_in_clean_session if {
	call_input := with_history(send_mail, [ordinary_read_record])
	d := mcp.decision with input as call_input
	allowed(d)
	d.labels == ["egress"]
}

test_egress_denied_after_sensitive_read if {
	call_input := with_history(send_mail, [ordinary_read_record, sensitive_read_record])
	d := mcp.decision with input as call_input
	denied_with(d, "egress_after_sensitive_read")
	codes(d) == {"egress_after_sensitive_read"}
	contains(d.reasons[0].message, "d-secret-read")
}

test_write_to_outbox_is_egress if {
	inp := fs("write_file", {"path": concat("/", [outbox, "summary.txt"]), "content": "x"})
	d := mcp.decision with input as inp
	"egress" in d.labels
	d.require_approval == true
}

test_write_to_outbox_denied_after_sensitive_read if {
	inp := with_history(fs("write_file", {"path": concat("/", [outbox, "summary.txt"]), "content": "x"}), [sensitive_read_record])
	d := mcp.decision with input as inp
	denied_with(d, "egress_after_sensitive_read")
	not "approval_required" in codes(d)
}

test_reading_the_outbox_is_not_egress if {
	inp := with_history(fs("read_text_file", {"path": concat("/", [outbox, "summary.txt"])}), [sensitive_read_record])
	d := mcp.decision with input as inp
	allowed(d)
}

test_non_egress_call_allowed_after_sensitive_read if {
	inp := with_history(fs("read_text_file", {"path": concat("/", [workspace, "notes.txt"])}), [sensitive_read_record])
	d := mcp.decision with input as inp
	allowed(d)
}

test_denied_sensitive_read_does_not_taint_session if {
	denied_read := object.union(sensitive_read_record, {"decision": "DENY"})
	call_input := with_history(send_mail, [denied_read])
	d := mcp.decision with input as call_input
	allowed(d)
}

test_approval_decision_taints_session if {
	pending := object.union(sensitive_read_record, {"decision": "require_approval"})
	call_input := with_history(send_mail, [pending])
	d := mcp.decision with input as call_input
	denied_with(d, "egress_after_sensitive_read")
}

test_history_resource_sensitivity_taints_session if {
	record := object.union(ordinary_read_record, {"resource": {"sensitivity": "secret"}})
	call_input := with_history(send_mail, [record])
	d := mcp.decision with input as call_input
	denied_with(d, "egress_after_sensitive_read")
}

test_moving_a_secret_to_the_outbox_is_denied if {
	inp := fs("move_file", {"source": secret_file, "destination": concat("/", [outbox, "keys.txt"])})
	d := mcp.decision with input as inp
	denied_with(d, "egress_of_sensitive_resource")
}

test_open_world_annotation_marks_egress if {
	grants := [{"id": "web", "workloads": [agent_x], "servers": ["web"], "tools": ["fetch"]}]
	inp := object.union(call(agent_x, "web", "fetch", {"url": "https://example.org"}), {"tool": {"annotations": {"openWorldHint": "true"}}})
	clean := mcp.decision with input as inp with data.policypoint.config.grants as grants
	allowed(clean)
	clean.labels == ["egress"]

	call_input := with_history(inp, [sensitive_read_record])
	tainted := mcp.decision with input as call_input with data.policypoint.config.grants as grants
	denied_with(tainted, "egress_after_sensitive_read")
}

test_catalog_labels_are_reported_and_sensitive_ones_taint if {
	tools := {"read_text_file": {"read_only": true, "labels": ["pii", "sensitive"]}}
	call_input := fs("read_text_file", {"path": concat("/", [workspace, "people.csv"])})
	d := mcp.decision with input as call_input with data.policypoint.config.servers.filesystem.tools as tools
	allowed(d)
	d.labels == ["pii", "sensitive"]
}
