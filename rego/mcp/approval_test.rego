# Destructive tools need a person's approval.
package policypoint.mcp_test

import data.policypoint.mcp

test_destructive_catalog_tool_requires_approval if {
	inp := fs("write_file", {"path": concat("/", [workspace, "report.txt"]), "content": "draft"})
	d := mcp.decision with input as inp
	d.allow == false
	d.require_approval == true
	codes(d) == {"approval_required"}
	d.obligations.approval.approver_group == "security-oncall"
	d.obligations.approval.tool == "write_file"
	"destructive" in d.labels
	d.exception == null
}

test_destructive_annotation_requires_approval if {
	inp := fs("create_directory", {"path": concat("/", [workspace, "build"])})
	plain := mcp.decision with input as inp
	allowed(plain)

	annotated := object.union(inp, {"tool": {"annotations": {"destructiveHint": "true"}}})
	d := mcp.decision with input as annotated
	d.allow == false
	d.require_approval == true
	codes(d) == {"approval_required"}
}

test_destructive_annotation_false_is_not_destructive if {
	inp := object.union(fs("create_directory", {"path": concat("/", [workspace, "build"])}), {"tool": {"annotations": {"destructiveHint": "false"}}})
	d := mcp.decision with input as inp
	allowed(d)
	not "destructive" in d.labels
}

test_denied_destructive_call_is_denied_not_sent_for_approval if {
	inp := fs("write_file", {"path": "/tmp/policypoint-demo/elsewhere/x.txt", "content": "hi"})
	d := mcp.decision with input as inp
	denied_with(d, "argument_not_allowed")
	not "approval_required" in codes(d)
	d.obligations == {}
}

test_sensitive_destructive_tool_with_jit_requires_approval if {
	call_input := call(finance_bot, "payments", "transfer_funds", {"amount": 100})
	d := mcp.decision with input as call_input
	d.allow == false
	d.require_approval == true
}

test_requires_approval_flag_in_catalog if {
	inp := fs("create_directory", {"path": concat("/", [workspace, "build"])})
	d := mcp.decision with input as inp with data.policypoint.config.servers.filesystem.tools.create_directory as {"requires_approval": true}
	d.require_approval == true
}
