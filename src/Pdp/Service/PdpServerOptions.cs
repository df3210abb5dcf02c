using Pdp.DecisionLog;
using Pdp.Policy;

namespace Pdp.Service;

/// <summary>
/// Everything <c>pdp serve</c> needs. Filled from (highest first) command-line flags, environment variables
/// (<c>PDP_POLICY</c>, <c>PDP_ENTRYPOINT</c>, <c>PDP_DB</c>, <c>PDP_LISTEN</c>, <c>PDP_SPOOL</c>, <c>PDP_OPA_URL</c>,
/// <c>PDP_MIGRATE</c>, <c>PDP_LOG_LANES</c>, <c>PDP_LOG_ACK</c>) and
/// the <c>Pdp</c> section of appsettings.json; tests set it directly.
/// </summary>
public sealed class PdpServerOptions
{
    /// <summary>Bundle directory or OPA bundle .tar.gz (required unless <see cref="OpaUrl"/> or <see cref="PolicyEngine"/> is set).</summary>
    public string? Policy { get; set; }

    /// <summary>Decision entrypoint, default <c>data.policypoint.mcp.decision</c>.</summary>
    public string Entrypoint { get; set; } = EntrypointPath.Default;

    /// <summary>PostgreSQL connection string (required unless <see cref="DecisionLog"/> is set).</summary>
    public string? Db { get; set; }

    /// <summary><c>HOST:PORT</c> to serve gRPC on (HTTP/2 cleartext); port 0 picks a free port. Default <c>127.0.0.1:50051</c>.</summary>
    public string Listen { get; set; } = "127.0.0.1:50051";

    /// <summary>Spool folder for records while PostgreSQL is unreachable; null = the decision log's default.</summary>
    public string? Spool { get; set; }

    /// <summary>Base URL of an OPA server to ask instead of the embedded engine (e.g. <c>http://127.0.0.1:8282</c>).</summary>
    public string? OpaUrl { get; set; }

    /// <summary>
    /// Decision log writer lanes (<see cref="DecisionLogOptions.WriterLanes"/>, 1..16, default 1); env
    /// <c>PDP_LOG_LANES</c>, appsettings <c>Pdp:LogLanes</c>.
    /// </summary>
    public int LogLanes { get; set; } = 1;

    /// <summary>
    /// When a decision is durable enough to answer (<see cref="DecisionLogOptions.Acknowledge"/>): committed in
    /// PostgreSQL (default) or fsynced to the local spool; flag <c>--log-ack commit|journal</c>, env
    /// <c>PDP_LOG_ACK</c>, appsettings <c>Pdp:LogAck</c>.
    /// </summary>
    public DecisionLogAck LogAck { get; set; } = DecisionLogAck.Commit;

    /// <summary>Request limits (INVALID_ARGUMENT beyond them).</summary>
    public CheckLimits Limits { get; set; } = new();

    /// <summary>Wall-clock budget of one policy evaluation (DENY <c>policy_error</c> beyond it). Default 1 s.</summary>
    public TimeSpan EvalTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Sessions whose history is kept in memory. Default 10 000.</summary>
    public int SessionCacheSize { get; set; } = 10_000;

    /// <summary>Newest decisions per session given to policies in <c>input.session.history</c>. Default 64.</summary>
    public int SessionHistoryLimit { get; set; } = 64;

    /// <summary>Bundle change polling period (fallback to file notifications). Default 2 s.</summary>
    public TimeSpan BundlePollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Apply database migrations at start-up. Default true.</summary>
    public bool Migrate { get; set; } = true;

    /// <summary>Test hook: use this decision log instead of PostgreSQL.</summary>
    public IDecisionLog? DecisionLog { get; set; }

    /// <summary>Test hook: use this engine instead of loading <see cref="Policy"/>.</summary>
    public IPolicyEngine? PolicyEngine { get; set; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first missing or malformed setting.</summary>
    public void Validate()
    {
        if (PolicyEngine is null && string.IsNullOrWhiteSpace(OpaUrl) && string.IsNullOrWhiteSpace(Policy))
            throw new ArgumentException("--policy (PDP_POLICY) is required: a bundle directory or .tar.gz");
        if (DecisionLog is null && string.IsNullOrWhiteSpace(Db))
            throw new ArgumentException("--db (PDP_DB) is required: a PostgreSQL connection string");
        EntrypointPath.Parse(Entrypoint);
        PdpHost.ParseListen(Listen);
        if (!string.IsNullOrWhiteSpace(OpaUrl) && (!Uri.TryCreate(OpaUrl, UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https")))
            throw new ArgumentException($"--opa-url '{OpaUrl}' must be an absolute http(s) URL");
        if (LogLanes is < 1 or > 16) throw new ArgumentException($"PDP_LOG_LANES must be in 1..16, got {LogLanes}");
        if (EvalTimeout <= TimeSpan.Zero) throw new ArgumentException("EvalTimeout must be positive");
        Limits.Validate();
    }
}
