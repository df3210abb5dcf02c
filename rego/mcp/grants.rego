# Standing grants: which workload identities may call which servers and tools, with which arguments.
#
# Default deny: a call is authorized only by a grant that matches all of
#   - the caller's SPIFFE ID against one of grant.workloads (globs; `*` stays within one path segment,
#     `**` crosses segments),
#   - the server against one of grant.servers and the tool against one of grant.tools (globs),
#   - grant.expires_at, when present, still in the future,
# and whose argument constraints hold (path_prefixes, argument_patterns).
package policypoint.mcp

# Grants that cover this workload, server and tool, before looking at arguments. The workload index below
# supplies the candidates: grants naming this SPIFFE ID literally (their pattern is the ID itself, so it
# matches), and grants with glob patterns, which are matched here.
matching_grants contains grant if {
	workload_id != ""
	some key in object.get(grant_keys_by_workload, workload_id, set())
	grant := configured_grants[key]
	grant_covers_call(grant)
}

matching_grants contains grant if {
	workload_id != ""
	some key in glob_workload_grant_keys
	grant := configured_grants[key]
	workload_matches(grant)
	grant_covers_call(grant)
}

grant_covers_call(grant) if {
	glob_any(object.get(grant, "servers", []), server)
	glob_any(object.get(grant, "tools", []), tool_name)
	not grant_expired(grant)
}

# Grants that also accept every argument: any one of them authorizes the call.
allowing_grants contains grant if {
	some grant in matching_grants
	arguments_allowed(grant)
}

allowing_grant_ids contains grant.id if some grant in allowing_grants

# --- grant index ---------------------------------------------------------------------------------
#
# Security teams write grants as a list. These rules do not read input, so the engine computes them once
# per compiled policy: a grant whose workload pattern is a literal SPIFFE ID is found by that ID, and only
# grants with a glob (or malformed) workload pattern are scanned on every call.

configured_grants := object.get(config, "grants", [])

# A workload pattern without glob metacharacters matches exactly one SPIFFE ID: itself.
literal_workload_pattern(pattern) if {
	is_string(pattern)
	not regex.match(`[*?\[\]{}\\]`, pattern)
}

# SPIFFE ID -> keys (list positions) of the grants that name it literally.
grant_keys_by_workload[pattern] contains key if {
	some key, grant in configured_grants
	some pattern in object.get(grant, "workloads", [])
	literal_workload_pattern(pattern)
}

# Keys of the grants with at least one workload pattern that is not a literal.
glob_workload_grant_keys contains key if {
	some key, grant in configured_grants
	some pattern in object.get(grant, "workloads", [])
	not literal_workload_pattern(pattern)
}

workload_matches(grant) if {
	workload_id != ""
	some pattern in object.get(grant, "workloads", [])
	glob.match(pattern, ["/"], workload_id)
}

# Server and tool names are matched without delimiters: `*` matches any name.
glob_any(patterns, name) if {
	some pattern in patterns
	glob.match(pattern, null, name)
}

grant_expired(grant) if {
	is_string(grant.expires_at)
	time.parse_rfc3339_ns(grant.expires_at) <= now_ns
}

# An expiry that does not parse is treated as expired: a typo must not make a grant permanent.
grant_expired(grant) if {
	is_string(grant.expires_at)
	not time.parse_rfc3339_ns(grant.expires_at)
}

# --- argument constraints ------------------------------------------------------------------------

arguments_allowed(grant) if {
	not arguments_malformed
	count(bad_path_args) == 0
	every pair in path_args {
		path_allowed(grant, pair[1])
	}
	every name, patterns in object.get(grant, "argument_patterns", {}) {
		argument_matches(name, patterns)
	}
}

# Without path_prefixes a grant accepts any well-formed path. (The cheap key test first: most grants have prefixes.)
path_allowed(grant, p) if {
	not has_key(grant, "path_prefixes")
	not path_malformed(p)
}

path_allowed(grant, p) if {
	not path_malformed(p)
	path_under_any(p, grant.path_prefixes)
}

# argument_patterns: {argument: [glob, ...]}; the argument must be present, a string, and match one.
argument_matches(name, patterns) if {
	is_string(arguments[name])
	glob_any(patterns, arguments[name])
}

# --- deny reasons --------------------------------------------------------------------------------

deny contains reason("identity_missing", "the request carries no workload SPIFFE ID", "policypoint.mcp.grants") if {
	workload_id == ""
}

deny contains reason("no_grant", msg, "policypoint.mcp.grants") if {
	workload_id != ""
	count(matching_grants) == 0
	msg := sprintf("no grant allows workload %s to call tool %s on server %s", [workload_id, tool_name, server])
}

# A grant matches the tool, but no matching grant accepts the arguments: one reason per problem.
deny contains reason("argument_not_allowed", problem, "policypoint.mcp.arguments") if {
	count(matching_grants) > 0
	count(allowing_grants) == 0
	some problem in argument_problems
}

# Every argument is accepted by some grant, but no single grant accepts them all.
deny contains reason("argument_not_allowed", msg, "policypoint.mcp.arguments") if {
	count(matching_grants) > 0
	count(allowing_grants) == 0
	count(argument_problems) == 0
	msg := "no single matching grant accepts all arguments of this call"
}

argument_problems contains "the arguments must be an object" if arguments_malformed

argument_problems contains sprintf("argument %s must be a path string or an array of path strings", [name]) if {
	some name in bad_path_args
}

argument_problems contains msg if {
	some pair in path_args
	path_malformed(pair[1])
	msg := sprintf("argument %s (%s) must be an absolute path without '..' segments", [pair[0], pair[1]])
}

argument_problems contains msg if {
	some pair in path_args
	not path_malformed(pair[1])
	not path_allowed_by_some_grant(pair[1])
	msg := sprintf("argument %s (%s) is outside the path prefixes granted to %s", [pair[0], pair[1], workload_id])
}

argument_problems contains msg if {
	some grant in matching_grants
	some name, patterns in object.get(grant, "argument_patterns", {})
	not argument_matches(name, patterns)
	msg := sprintf("argument %s does not match the allowed patterns %v of grant %s", [name, patterns, grant.id])
}

path_allowed_by_some_grant(p) if {
	some grant in matching_grants
	path_allowed(grant, p)
}
