namespace Pdp.DecisionLog;

/// <summary>
/// One decision as it is stored in table <c>decisions</c>: who called, which tool, what was decided and why.
/// Built by the Check path, made durable by an <see cref="IDecisionLog"/> before the answer leaves the PDP.
/// Times are UTC; JSON columns hold canonical JSON text (sorted keys) or null.
/// </summary>
public sealed record DecisionRecord
{
    /// <summary>The id the caller got in <c>CheckResponse.decision_id</c> (UUID v7 text, time ordered).</summary>
    public required string DecisionId { get; init; }
    /// <summary>When the PDP decided (UTC).</summary>
    public required DateTimeOffset DecidedAt { get; init; }
    /// <summary>The caller's idempotency key, or null.</summary>
    public string? RequestId { get; init; }

    public string? SpiffeId { get; init; }
    public string? Issuer { get; init; }
    public string? Subject { get; init; }
    /// <summary>Workload attributes as a JSON object, or null.</summary>
    public string? WorkloadAttributesJson { get; init; }

    public string? Server { get; init; }
    /// <summary>Tool name; empty only for requests refused as invalid before a name was read.</summary>
    public string Tool { get; init; } = "";
    /// <summary>Tool annotations as a JSON object, or null.</summary>
    public string? AnnotationsJson { get; init; }

    public string? ResourceType { get; init; }
    public string? ResourceId { get; init; }
    public string? ResourceSensitivity { get; init; }
    /// <summary>Context payload metadata (sizes, hashes, labels) as a JSON object, or null.</summary>
    public string? ContextJson { get; init; }

    public string? CredentialId { get; init; }
    /// <summary><c>jit</c>, <c>long_lived</c> or null when unspecified.</summary>
    public string? CredentialKind { get; init; }
    public DateTimeOffset? CredentialIssuedAt { get; init; }
    public DateTimeOffset? CredentialExpiresAt { get; init; }

    public string? SessionId { get; init; }
    public string? ParentDecisionId { get; init; }
    public string? OnBehalfOfSubject { get; init; }

    /// <summary><c>allow</c>, <c>deny</c>, <c>require_approval</c>, or <c>invalid</c> (refused as INVALID_ARGUMENT).</summary>
    public required string Decision { get; init; }
    public IReadOnlyList<ReasonRecord> Reasons { get; init; } = [];
    /// <summary>The exception or override that allowed the call, or null.</summary>
    public string? ExceptionPath { get; init; }
    /// <summary>Obligations as a JSON object, or null.</summary>
    public string? ObligationsJson { get; init; }
    /// <summary>Revision of the policy bundle that decided, or empty when none was loaded.</summary>
    public string PolicyRevision { get; init; } = "";
    /// <summary>SHA-256 (hex) of the canonical JSON of the full Rego input document.</summary>
    public string InputHash { get; init; } = "";
    /// <summary>The Rego input with argument values masked (keys kept, values replaced by type and size).</summary>
    public string? MaskedInputJson { get; init; }
    /// <summary>Policy evaluation time in microseconds.</summary>
    public long EvalMicros { get; init; }
    /// <summary>Labels the policy attached to this call (e.g. resource sensitivity), used for session history.</summary>
    public IReadOnlyList<string> Labels { get; init; } = [];

    /// <summary>
    /// Set by the Check path when every JSON field was written by <see cref="CanonicalJson.TryWrite"/>: already in
    /// canonical form, so <see cref="DecisionChain.Normalize"/> need not parse them again. Not stored, not hashed.
    /// </summary>
    internal bool JsonCanonical { get; init; }
}

/// <summary>One deny (or approval) reason: stable <c>code</c>, human <c>message</c>, the producing <c>rule</c> if known.</summary>
public sealed record ReasonRecord(string Code, string Message, string? Rule = null);

/// <summary>
/// Durable decision log. <see cref="AppendAsync"/> completes only once the record is durable: committed in
/// PostgreSQL, or written and fsynced to the local spool. It throws <see cref="AuditUnavailableException"/> when
/// neither is possible, and the caller then answers DENY with reason <c>audit_unavailable</c>.
/// Implementations are thread safe and idempotent on <see cref="DecisionRecord.DecisionId"/>.
/// </summary>
public interface IDecisionLog
{
    /// <summary>Makes <paramref name="record"/> durable (group-committed with concurrent appends).</summary>
    ValueTask AppendAsync(DecisionRecord record, CancellationToken cancellationToken = default);

    /// <summary>The first decision recorded for <paramref name="requestId"/>, or null (idempotent Check).</summary>
    ValueTask<DecisionRecord?> FindByRequestIdAsync(string requestId, CancellationToken cancellationToken = default);

    /// <summary>Decisions of a session in decision order, oldest first, at most <paramref name="limit"/> of the newest.</summary>
    ValueTask<IReadOnlyList<DecisionRecord>> GetSessionAsync(string sessionId, int limit, CancellationToken cancellationToken = default);

    /// <summary>Flushes every pending record (graceful shutdown).</summary>
    Task FlushAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// True while the record of <paramref name="decisionId"/> is acknowledged but not yet in PostgreSQL (queued, or
    /// in the spool: in journal mode for a few milliseconds, or while PostgreSQL is down). Default: false.
    /// </summary>
    bool IsPending(string decisionId) => false;
}

/// <summary>Neither PostgreSQL nor the local spool could make a record durable.</summary>
public sealed class AuditUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
