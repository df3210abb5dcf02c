# The entrypoint: data.policypoint.mcp.decision, one object per `tools/call`.
#
#   allow             true only when the tool may run now
#   require_approval  true when the call is otherwise allowed but needs a person's approval first
#                     (allow is then false, so a PEP that reads only `allow` still fails closed)
#   reasons           [{code, message, rule}]: every deny reason; or approval_required; or, for an allow,
#                     the grant (code "granted") or the break-glass entry (code "break_glass") that allowed it
#   exception         "break_glass:<ticket>" when break-glass allowed the call, else null
#   obligations       what the PEP must do with the answer (approval routing, break-glass review)
#   labels            what the call touches ("sensitive", "egress", "destructive", "break_glass", catalog
#                     labels); the PDP records them for the session-chaining rule
#
# The other files add deny reasons to the partial set `deny`; this file combines them.
package policypoint.mcp

# Deny reasons that still stand once break-glass overrides are taken out.
blocking contains r if {
	some r in deny
	not overridden(r)
}

overridden(r) if {
	break_glass
	break_glass_overridable[r.code]
}

# Authorized by a standing grant or by an active break-glass entry. Allow also needs this positive
# match, not just the absence of deny reasons.
authorized if count(allowing_grants) > 0

authorized if break_glass

approval_pending if {
	count(blocking) == 0
	authorized
	needs_approval
	not break_glass_used
}

default allow := false

allow if {
	count(blocking) == 0
	authorized
	not approval_pending
}

default require_approval := false

require_approval if approval_pending

default exception := null

exception := sprintf("break_glass:%s", [break_glass.ticket]) if {
	allow
	break_glass_used
}

# --- reasons -------------------------------------------------------------------------------------

decision_reasons contains r if some r in blocking

decision_reasons contains reason("approval_required", msg, "policypoint.mcp.approval") if {
	approval_pending
	msg := sprintf("tool %s on server %s is destructive and needs approval from %s", [tool_name, server, approver_group])
}

decision_reasons contains reason("granted", msg, "policypoint.mcp.grants") if {
	allow
	not break_glass_used
	msg := sprintf("allowed by grant %s", [concat(", ", sort(allowing_grant_ids))])
}

decision_reasons contains reason("break_glass", msg, "policypoint.mcp.break_glass") if {
	allow
	break_glass_used
	msg := sprintf("allowed by break-glass %s (ticket %s), overriding %s", [break_glass.id, break_glass.ticket, concat(", ", sort(break_glass_overrides))])
}

# A safety net: a refusal always carries at least one reason.
decision_reasons contains reason("default_deny", "no rule allowed this call", "policypoint.mcp.decision") if {
	not allow
	not approval_pending
	count(blocking) == 0
}

# --- obligations ---------------------------------------------------------------------------------

default approval_obligations := {}

approval_obligations := {"approval": {"approver_group": approver_group, "server": server, "tool": tool_name}} if {
	approval_pending
}

default break_glass_obligations := {}

break_glass_obligations := {"break_glass": {
	"id": break_glass.id,
	"ticket": break_glass.ticket,
	"notify": object.get(break_glass, "notify", [approver_group]),
}} if {
	allow
	break_glass_used
}

obligations := object.union(approval_obligations, break_glass_obligations)

# --- labels --------------------------------------------------------------------------------------

labels contains "sensitive" if sensitive_access

labels contains "egress" if egress_call

labels contains "destructive" if destructive_call

labels contains "break_glass" if {
	allow
	break_glass_used
}

labels contains label if {
	some label in object.get(tool_entry, "labels", [])
	is_string(label)
}

# --- the entrypoint ------------------------------------------------------------------------------

decision := {
	"allow": allow,
	"require_approval": require_approval,
	"reasons": [r | some r in decision_reasons],
	"exception": exception,
	"obligations": obligations,
	"labels": [label | some label in labels],
}
