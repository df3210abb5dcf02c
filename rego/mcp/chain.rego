# Session-aware chaining: "approved first hop, unapproved second hop".
#
# Each decision carries labels (decision.labels). The PDP records them and hands this session's earlier
# decisions back as input.session.history, which the caller cannot forge. Once the session has touched
# something labelled "sensitive", every egress call in the same session is denied: the agent may read a
# secret, but it may no longer send anything out.
package policypoint.mcp

# --- labels of this call ---------------------------------------------------------------------------

# The call touches sensitive data: the resource says so, or a path lies under a sensitive prefix.
sensitive_access if {
	is_string(input.resource.sensitivity)
	lower(input.resource.sensitivity) in sensitive_levels
}

sensitive_access if {
	some pair in path_args
	path_under_any(pair[1], object.get(server_entry, "sensitive_path_prefixes", []))
}

sensitive_access if "sensitive" in object.get(tool_entry, "labels", [])

sensitive_levels contains lower(level) if {
	some level in object.get(settings, "sensitive_resource_levels", [])
	is_string(level)
}

# The call sends data out: the catalog says so (authoritative when present), else the openWorldHint
# annotation; or a non-read-only call writes under one of the server's egress path prefixes.
egress_call if tool_entry.egress == true

egress_call if {
	not has_key(tool_entry, "egress")
	annotation_true("openWorldHint")
}

egress_call if {
	not read_only_call
	some pair in path_args
	path_under_any(pair[1], object.get(server_entry, "egress_path_prefixes", []))
}

# --- the session's history -------------------------------------------------------------------------

# Earlier decisions of this session that touched sensitive data and were not denied (an approval or an
# allow may have let the data through; only a deny is known to have stopped it).
sensitive_history contains object.get(entry, "decision_id", "(unknown)") if {
	some entry in input.session.history
	history_sensitive(entry)
	not history_denied(entry)
}

history_sensitive(entry) if "sensitive" in entry.labels

history_sensitive(entry) if {
	is_string(entry.resource.sensitivity)
	lower(entry.resource.sensitivity) in sensitive_levels
}

history_denied(entry) if {
	is_string(entry.decision)
	lower(entry.decision) in {"deny", "decision_deny"}
}

# --- deny reasons ----------------------------------------------------------------------------------

deny contains reason("egress_after_sensitive_read", msg, "policypoint.mcp.chain") if {
	egress_call
	count(sensitive_history) > 0
	msg := sprintf("egress tool %s on server %s is denied: this session already touched sensitive data (decisions %s)", [tool_name, server, concat(", ", sort(sensitive_history))])
}

# One call that both reads sensitive data and sends it out (e.g. moving a secret into the outbox).
deny contains reason("egress_of_sensitive_resource", msg, "policypoint.mcp.chain") if {
	egress_call
	sensitive_access
	msg := sprintf("tool %s on server %s would send sensitive data out", [tool_name, server])
}
