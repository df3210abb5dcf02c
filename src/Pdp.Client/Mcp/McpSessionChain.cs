namespace Pdp.Client.Mcp;

/// <summary>
/// Per-session state of a PEP: a stable session id and the last decision id, which becomes the next call's
/// <c>parent_decision_id</c>. Thread-safe.
/// </summary>
public sealed class McpSessionChain
{
    private string? _lastDecisionId;

    /// <summary>Creates the chain of one session; a missing id gets a random one (<c>pp-</c> + 32 hex digits).</summary>
    public McpSessionChain(string? sessionId = null) =>
        SessionId = string.IsNullOrWhiteSpace(sessionId) ? "pp-" + Guid.NewGuid().ToString("N") : sessionId;

    /// <summary>The session id sent to the PDP.</summary>
    public string SessionId { get; }

    /// <summary>The latest recorded decision of this session, or null before the first one.</summary>
    public string? LastDecisionId => Volatile.Read(ref _lastDecisionId);

    /// <summary>Records a decision as the session's latest; empty ids (local fail-closed answers) are ignored.</summary>
    public void Advance(string? decisionId)
    {
        if (!string.IsNullOrEmpty(decisionId)) Volatile.Write(ref _lastDecisionId, decisionId);
    }
}
