namespace Pdp.Client.McpGuard;

/// <summary>Settings of one <see cref="McpGuardProxy"/> run.</summary>
public sealed class McpGuardOptions
{
    /// <summary>Workload identity of the client behind the guard, e.g. <c>spiffe://example.org/agent/x</c>. Required.</summary>
    public string SpiffeId { get; set; } = "";

    /// <summary><c>tool.server</c>; when null, the <c>serverInfo.name</c> the child reports in its initialize result.</summary>
    public string? ServerName { get; set; }

    /// <summary>Hide from <c>tools/list</c> results the tools this identity may never call (per-tool PDP probe).</summary>
    public bool FilterToolsList { get; set; }

    /// <summary>
    /// Reason codes of a DENY to a <c>tools/list</c> probe that hide a tool. Default: <c>no_grant</c> only, so tools
    /// denied merely for their (absent) arguments stay visible.
    /// </summary>
    public ISet<string> HideOnReasonCodes { get; set; } = new HashSet<string>(StringComparer.Ordinal) { "no_grant" };

    /// <summary>MCP session id sent to the PDP; a random <c>pp-…</c> id when null.</summary>
    public string? SessionId { get; set; }

    /// <summary>How long to wait for the child's answer to the guard's own <c>tools/list</c>. Default 10 s.</summary>
    public TimeSpan ChildRequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long the child may take to exit after its stdin is closed before it is killed. Default 5 s.</summary>
    public TimeSpan ChildExitTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Report outcomes (executed/failed) of allowed calls to the decision log. Default true.</summary>
    public bool ReportOutcomes { get; set; } = true;

    /// <summary>Throws <see cref="ArgumentException"/> for a missing or non-SPIFFE identity or non-positive timeouts.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(SpiffeId)) throw new ArgumentException("an identity is required (--identity spiffe://trust-domain/path).");
        if (!SpiffeId.StartsWith("spiffe://", StringComparison.Ordinal) || SpiffeId.Length <= "spiffe://".Length)
            throw new ArgumentException($"identity must be a SPIFFE ID (spiffe://trust-domain/path), got '{SpiffeId}'.");
        if (ChildRequestTimeout <= TimeSpan.Zero || ChildExitTimeout <= TimeSpan.Zero) throw new ArgumentException("timeouts must be positive.");
    }
}
