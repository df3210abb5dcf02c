# Human approval for irreversible actions.
#
# A call needs approval when the tool is destructive: the catalog marks it destructive (or
# requires_approval), or the server annotates it destructiveHint "true". Such a call is answered
# REQUIRE_APPROVAL (allow false, require_approval true) instead of ALLOW, and is not run until a person
# from settings.approver_group approves it. A call that is denied anyway is simply denied.
package policypoint.mcp

destructive_call if tool_entry.destructive == true

destructive_call if annotation_true("destructiveHint")

needs_approval if destructive_call

needs_approval if tool_entry.requires_approval == true
