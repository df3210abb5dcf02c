using Pdp.DecisionLog;

namespace Pdp.Tests.DecisionLog;

/// <summary>Builds decision records with every field set, for the decision log tests.</summary>
internal static class TestRecords
{
    private static long _counter;

    /// <summary>A fully populated record with a unique decision id (or the given one).</summary>
    public static DecisionRecord Full(string? decisionId = null, string? sessionId = "sess-1", string? requestId = null,
        DateTimeOffset? at = null, string decision = "deny")
    {
        var n = Interlocked.Increment(ref _counter);
        return new DecisionRecord
        {
            DecisionId = decisionId ?? $"01900000-0000-7000-8000-{n:D12}-{Guid.NewGuid():N}",
            DecidedAt = at ?? DateTimeOffset.UtcNow,
            RequestId = requestId,
            SpiffeId = "spiffe://example.org/ns/agents/sa/researcher",
            Issuer = "https://idp.example.org",
            Subject = "agent-7",
            WorkloadAttributesJson = """{"team": "research", "env": "prod", "n": 1.50e1}""",
            Server = "github",
            Tool = "create_issue",
            AnnotationsJson = """{"destructiveHint":false,"readOnlyHint":false}""",
            ResourceType = "repository",
            ResourceId = "acme/api",
            ResourceSensitivity = "internal",
            ContextJson = """{"bytes": 120, "sha256": "ab12", "labels": ["pii"]}""",
            CredentialId = "cred-42",
            CredentialKind = n % 2 == 0 ? "jit" : "long_lived",
            CredentialIssuedAt = DateTimeOffset.UtcNow.AddMinutes(-5),
            CredentialExpiresAt = DateTimeOffset.UtcNow.AddMinutes(10),
            SessionId = sessionId,
            ParentDecisionId = null,
            OnBehalfOfSubject = "alice@example.org",
            Decision = decision,
            Reasons = decision == "allow" ? [] : [new ReasonRecord("secret_then_egress", "egress after reading a secret", "data.policypoint.mcp.deny"), new ReasonRecord("no_grant", "no grant")],
            ExceptionPath = decision == "allow" ? "break_glass/incident-9" : null,
            ObligationsJson = """{"redact": ["token"]}""",
            PolicyRevision = "rev-2026-11-25",
            InputHash = new string('a', 64),
            MaskedInputJson = """{"tool": {"name": "create_issue", "arguments": {"title": "string(12)"}}}""",
            EvalMicros = 137,
            Labels = ["secret", "external"],
        };
    }
}
