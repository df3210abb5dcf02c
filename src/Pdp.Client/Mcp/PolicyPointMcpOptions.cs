using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using PolicyPoint.V1;

namespace Pdp.Client.Mcp;

/// <summary>Settings of the PolicyPoint call-tool filter (<see cref="PolicyPointMcpServerBuilderExtensions.WithPolicyPointAuthorization"/>).</summary>
public sealed class PolicyPointMcpOptions
{
    /// <summary>The workload identity sent with every call, e.g. <c>spiffe://example.org/agent/x</c>. Used when <see cref="IdentityResolver"/> is unset or returns null.</summary>
    public string? SpiffeId { get; set; }

    /// <summary>Per-request identity (e.g. from <see cref="MessageContext.User"/> claims over HTTP). Optional.</summary>
    public Func<RequestContext<CallToolRequestParams>, string?>? IdentityResolver { get; set; }

    /// <summary><c>tool.server</c> sent to the PDP; defaults to the server's <c>serverInfo.name</c>.</summary>
    public string? ServerName { get; set; }

    /// <summary>Credential metadata for a call (JIT or long-lived). Optional.</summary>
    public Func<RequestContext<CallToolRequestParams>, Credential?>? CredentialResolver { get; set; }

    /// <summary>Report <c>executed</c>/<c>failed</c> outcomes of allowed calls to the decision log. Default true.</summary>
    public bool ReportOutcomes { get; set; } = true;
}
