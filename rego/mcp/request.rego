# Facts about the request, derived once and shared by every rule of the library.
#
# Everything here tolerates a partial or malformed input: a missing field yields a safe default
# (empty string, empty object) rather than an undefined value, so that deny rules still fire
# and their messages can still be built.
package policypoint.mcp

# --- configuration -----------------------------------------------------------------------------

# data.policypoint.config (rego/data.yaml); an empty object when no data was loaded.
default config := {}

config := data.policypoint.config if is_object(data.policypoint.config)

default settings := {}

settings := config.settings if is_object(config.settings)

# Maximum lifetime of a JIT credential, in nanoseconds (settings.jit_max_ttl_seconds, default 1 hour).
default max_ttl_ns := 3600000000000

max_ttl_ns := settings.jit_max_ttl_seconds * 1000000000 if is_number(settings.jit_max_ttl_seconds)

default approver_group := "security-oncall"

approver_group := settings.approver_group if is_string(settings.approver_group)

# --- time ----------------------------------------------------------------------------------------

# The decision time in nanoseconds since the epoch: the PDP's request time, so that a decision can be
# replayed exactly; the evaluation clock only when the PEP's input has none.
now_ns := input.request.time_ns if is_number(input.request.time_ns)

now_ns := time.now_ns() if not is_number(input.request.time_ns)

# --- who, which server, which tool ---------------------------------------------------------------

default workload_id := ""

workload_id := input.workload.spiffe_id if is_string(input.workload.spiffe_id)

default tool_name := ""

tool_name := input.tool.name if is_string(input.tool.name)

# The server as named in grants: server_aliases maps names PEPs report to catalog names.
default server := ""

server := object.get(object.get(config, "server_aliases", {}), input.tool.server, input.tool.server) if {
	is_string(input.tool.server)
}

# The catalog entry of the server (config.servers[server]) and of the tool; {} when not listed.
default server_entry := {}

server_entry := config.servers[server] if is_object(config.servers[server])

default tool_entry := {}

tool_entry := server_entry.tools[tool_name] if is_object(server_entry.tools[tool_name])

default arguments := {}

arguments := input.tool.arguments if is_object(input.tool.arguments)

# Arguments that are present but not an object cannot be checked against any constraint: deny them.
arguments_malformed if {
	_ = input.tool.arguments
	not is_object(input.tool.arguments)
	input.tool.arguments != null
}

# MCP tool annotations arrive as strings ("true"/"false"); booleans are accepted too.
default annotations := {}

annotations := input.tool.annotations if is_object(input.tool.annotations)

annotation_true(name) if {
	is_string(annotations[name])
	lower(annotations[name]) == "true"
}

annotation_true(name) if annotations[name] == true

# --- path arguments ------------------------------------------------------------------------------

# Each path-valued argument as [argument name, path]: the catalog's path_arguments, whether the
# argument holds one string or an array of them.
path_args contains [name, p] if {
	some name in object.get(server_entry, "path_arguments", [])
	p := arguments[name]
	is_string(p)
}

path_args contains [name, p] if {
	some name in object.get(server_entry, "path_arguments", [])
	value := arguments[name]
	is_array(value)
	some p in value
	is_string(p)
}

# Path arguments whose value is not a string (or an array of strings) cannot be checked: deny them.
bad_path_args contains name if {
	some name in object.get(server_entry, "path_arguments", [])
	value := arguments[name]
	not is_string(value)
	not is_array(value)
}

bad_path_args contains name if {
	some name in object.get(server_entry, "path_arguments", [])
	value := arguments[name]
	is_array(value)
	some element in value
	not is_string(element)
}

# A path we refuse to reason about: relative (or "~/..."), with a ".." segment that could climb out of a prefix,
# or spelled so that string prefixes mislead ("/ws/./secrets" or "/ws//secrets" would escape the sensitive prefix
# "/ws/secrets" while naming the same file).
path_malformed(p) if not startswith(p, "/")

# A "." or ".." segment (one regex test instead of splitting the path on every call).
path_malformed(p) if regex.match(`(^|/)\.\.?(/|$)`, p)

path_malformed(p) if contains(p, "//")

# p is the prefix itself or lies below it, on a segment boundary: "/a/b" is within "/a" but
# "/a-other" is not.
path_within(p, prefix) if p == trim_suffix(prefix, "/")

path_within(p, prefix) if startswith(p, concat("", [trim_suffix(prefix, "/"), "/"]))

path_under_any(p, prefixes) if {
	some prefix in prefixes
	path_within(p, prefix)
}

# --- tool classification -------------------------------------------------------------------------

# Read-only: the catalog decides when it says so, else the readOnlyHint annotation.
read_only_call if tool_entry.read_only == true

read_only_call if {
	not has_key(tool_entry, "read_only")
	annotation_true("readOnlyHint")
}

# Sensitive tools need a JIT credential (credentials.rego).
sensitive_tool if tool_entry.sensitive == true

has_key(obj, key) if _ = obj[key]

# --- the reason object ---------------------------------------------------------------------------

# One entry of decision.reasons: a stable code, a human message, and the rule that produced it.
reason(code, message, rule) := {"code": code, "message": message, "rule": rule}
