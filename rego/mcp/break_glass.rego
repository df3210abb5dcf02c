# Break-glass: time-boxed emergency access tied to a ticket (config.break_glass).
#
# An entry is active when its ticket is set, its expires_at (RFC 3339) is after the decision time, and it
# matches the workload, server and tool like a grant does. An active entry overrides the grant checks
# (no_grant, argument_not_allowed) and stands in for human approval; the decision then records
# exception "break_glass:<ticket>" and obligations.break_glass so that the use is reviewed.
# It never overrides credential checks or the session-chaining rule.
package policypoint.mcp

# Deny reasons a break-glass entry may override.
break_glass_overridable := {"no_grant", "argument_not_allowed"}

active_break_glass contains entry if {
	some entry in object.get(config, "break_glass", [])
	is_string(entry.ticket)
	entry.ticket != ""
	is_string(entry.expires_at)
	time.parse_rfc3339_ns(entry.expires_at) > now_ns
	workload_matches(entry)
	glob_any(object.get(entry, "servers", []), server)
	glob_any(object.get(entry, "tools", []), tool_name)
}

# The entry in force: the first in Rego's order when several match, so the choice is deterministic.
break_glass := entries[0] if {
	entries := sort([entry | some entry in active_break_glass])
	count(entries) > 0
}

# What break-glass is overriding for this call: deny codes, and approval.
break_glass_overrides contains r.code if {
	break_glass
	some r in deny
	break_glass_overridable[r.code]
}

break_glass_overrides contains "approval_required" if {
	break_glass
	needs_approval
}

break_glass_used if count(break_glass_overrides) > 0
