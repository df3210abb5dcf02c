# Credential hygiene for the credential the agent will use to run the tool (input.credential).
#
#   credential_expired               the credential's expiry is at or before the decision time
#   credential_ttl_too_long          a JIT credential lives longer than settings.jit_max_ttl_seconds,
#                                    or has no expiry at all
#   credential_long_lived_sensitive  a long-lived credential is used for a tool the catalog marks sensitive
#   credential_missing               a sensitive tool is called without any credential
#   credential_kind_unknown          kind is neither "jit" nor "long_lived"
#
# Times come as nanoseconds (issued_at_ns, expires_at_ns) or, failing that, as RFC 3339 strings
# (issued_at, expires_at). A value of 0 or "" means "not set", as an unset protobuf Timestamp does.
# These checks are never overridden by break-glass: an expired or over-privileged credential stays refused.
package policypoint.mcp

default credential := {}

credential := input.credential if is_object(input.credential)

# "jit" or "long_lived" (lower-cased); undefined when the request carries no credential.
credential_kind := lower(credential.kind) if {
	is_string(credential.kind)
	credential.kind != ""
}

credential_present if credential_kind

known_credential_kinds := {"jit", "long_lived"}

# --- timestamps ----------------------------------------------------------------------------------

credential_expires_ns := credential.expires_at_ns if expires_ns_given

credential_expires_ns := time.parse_rfc3339_ns(credential.expires_at) if {
	not expires_ns_given
	is_string(credential.expires_at)
	credential.expires_at != ""
}

expires_ns_given if {
	is_number(credential.expires_at_ns)
	credential.expires_at_ns > 0
}

credential_issued_ns := credential.issued_at_ns if issued_ns_given

credential_issued_ns := time.parse_rfc3339_ns(credential.issued_at) if {
	not issued_ns_given
	is_string(credential.issued_at)
	credential.issued_at != ""
}

issued_ns_given if {
	is_number(credential.issued_at_ns)
	credential.issued_at_ns > 0
}

# The credential's lifetime: from issue to expiry, or from now to expiry when the issue time is unknown.
credential_ttl_ns := credential_expires_ns - credential_issued_ns

credential_ttl_ns := credential_expires_ns - now_ns if not credential_issued_ns

# --- deny reasons --------------------------------------------------------------------------------

# Any credential with an expiry, whatever its kind (even an unspecified one), must not have expired.
deny contains reason("credential_expired", msg, "policypoint.mcp.credentials") if {
	credential_expires_ns <= now_ns
	msg := sprintf("credential %v expired %v seconds ago", [object.get(credential, "id", ""), (now_ns - credential_expires_ns) / 1000000000])
}

deny contains reason("credential_ttl_too_long", msg, "policypoint.mcp.credentials") if {
	credential_kind == "jit"
	credential_ttl_ns > max_ttl_ns
	msg := sprintf("JIT credential %v lives %v seconds; the maximum is %v seconds", [object.get(credential, "id", ""), credential_ttl_ns / 1000000000, max_ttl_ns / 1000000000])
}

deny contains reason("credential_ttl_too_long", msg, "policypoint.mcp.credentials") if {
	credential_kind == "jit"
	not credential_expires_ns
	msg := sprintf("JIT credential %v has no expiry", [object.get(credential, "id", "")])
}

deny contains reason("credential_long_lived_sensitive", msg, "policypoint.mcp.credentials") if {
	credential_kind == "long_lived"
	sensitive_tool
	msg := sprintf("tool %s on server %s is sensitive and needs a JIT credential, not a long-lived one", [tool_name, server])
}

deny contains reason("credential_missing", msg, "policypoint.mcp.credentials") if {
	not credential_present
	sensitive_tool
	msg := sprintf("tool %s on server %s is sensitive and needs a JIT credential", [tool_name, server])
}

deny contains reason("credential_kind_unknown", msg, "policypoint.mcp.credentials") if {
	credential_present
	not known_credential_kinds[credential_kind]
	msg := sprintf("credential kind %s is neither jit nor long_lived", [credential_kind])
}
