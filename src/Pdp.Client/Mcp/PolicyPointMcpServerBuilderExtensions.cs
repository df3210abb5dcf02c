using System.Runtime.CompilerServices;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using PolicyPoint.V1;

namespace Pdp.Client.Mcp;

/// <summary>Adds PolicyPoint authorization to a C# MCP server built on the official ModelContextProtocol SDK.</summary>
public static class PolicyPointMcpServerBuilderExtensions
{
    // One chain per live MCP session; weak so that ended sessions do not leak.
    private static readonly ConditionalWeakTable<McpServer, McpSessionChain> Chains = new();

    /// <summary>
    /// Adds a call-tool filter that asks the PDP (the <see cref="IPdpClient"/> registered with
    /// <c>services.AddPolicyPointClient(...)</c>) before any tool runs. On ALLOW the tool runs (and its outcome is
    /// reported); on DENY or REQUIRE_APPROVAL — including a fail-closed <c>pdp_unavailable</c> — the tool does not run
    /// and the client gets a <see cref="CallToolResult"/> with <c>isError: true</c> carrying the reasons.
    /// </summary>
    /// <exception cref="ArgumentException">Neither <see cref="PolicyPointMcpOptions.SpiffeId"/> nor an identity resolver is set.</exception>
    public static IMcpServerBuilder WithPolicyPointAuthorization(this IMcpServerBuilder builder, Action<PolicyPointMcpOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        var options = new PolicyPointMcpOptions();
        configure(options);
        if (string.IsNullOrWhiteSpace(options.SpiffeId) && options.IdentityResolver is null)
            throw new ArgumentException("PolicyPointMcpOptions needs SpiffeId or IdentityResolver.", nameof(configure));

        return builder.WithRequestFilters(filters => filters.AddCallToolFilter(next => async (context, cancellationToken) =>
        {
            var services = context.Services ?? context.Server.Services
                ?? throw new InvalidOperationException("No service provider on the MCP request; cannot resolve IPdpClient.");
            var pdp = services.GetService<IPdpClient>()
                ?? throw new InvalidOperationException("IPdpClient is not registered: call services.AddPolicyPointClient(...) at start-up.");
            var logger = services.GetService<ILoggerFactory>()?.CreateLogger("PolicyPoint.Mcp") ?? NullLogger.Instance;
            return await AuthorizeAsync(context, next, pdp, options, logger, cancellationToken).ConfigureAwait(false);
        }));
    }

    internal static async ValueTask<CallToolResult> AuthorizeAsync(RequestContext<CallToolRequestParams> context,
        McpRequestHandler<CallToolRequestParams, CallToolResult> next, IPdpClient pdp, PolicyPointMcpOptions options,
        ILogger logger, CancellationToken cancellationToken)
    {
        var toolName = context.Params?.Name ?? "";
        var chain = Chains.GetValue(context.Server, s => new McpSessionChain(s.SessionId));
        var identity = options.IdentityResolver?.Invoke(context) ?? options.SpiffeId;

        CheckResponse response;
        if (string.IsNullOrWhiteSpace(identity) || string.IsNullOrWhiteSpace(toolName))
        {
            response = PdpReasons.LocalDeny("invalid_request", string.IsNullOrWhiteSpace(identity) ? "no workload identity for this call" : "tools/call without a tool name");
        }
        else
        {
            var call = new McpToolCall
            {
                SpiffeId = identity,
                Server = options.ServerName ?? context.Server.ServerOptions?.ServerInfo?.Name,
                ToolName = toolName,
                Arguments = McpToolCall.ArgumentsToJson(context.Params!.Arguments),
                Annotations = FindAnnotations(context, toolName),
                SessionId = chain.SessionId,
                ParentDecisionId = chain.LastDecisionId,
                ClientInfo = context.Server.ClientInfo,
                Credential = options.CredentialResolver?.Invoke(context),
            };
            response = await pdp.CheckAsync(call.ToCheckRequest(), cancellationToken).ConfigureAwait(false);
        }
        chain.Advance(response.DecisionId);

        if (response.Decision != Decision.Allow)
        {
            logger.LogInformation("PolicyPoint {Decision} {Tool} ({DecisionId}): {Reasons}", response.Decision, toolName, response.DecisionId, PdpReasons.Describe(response));
            return PolicyPointDenial.ToCallToolResult(response, toolName);
        }

        try
        {
            var result = await next(context, cancellationToken).ConfigureAwait(false);
            if (options.ReportOutcomes)
                _ = pdp.ReportOutcomeAsync(response.DecisionId, result.IsError == true ? "failed" : "executed", null, CancellationToken.None);
            return result;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            if (options.ReportOutcomes) _ = pdp.ReportOutcomeAsync(response.DecisionId, "cancelled", null, CancellationToken.None);
            throw;
        }
        catch (Exception e)
        {
            if (options.ReportOutcomes) _ = pdp.ReportOutcomeAsync(response.DecisionId, "failed", e.GetType().Name + ": " + e.Message, CancellationToken.None);
            throw;
        }
    }

    private static ToolAnnotations? FindAnnotations(RequestContext<CallToolRequestParams> context, string toolName)
    {
        if (context.MatchedPrimitive is McpServerTool matched) return matched.ProtocolTool.Annotations;
        var tools = context.Server.ServerOptions?.ToolCollection;
        return tools is not null && tools.TryGetPrimitive(toolName, out var tool) ? tool.ProtocolTool.Annotations : null;
    }
}
