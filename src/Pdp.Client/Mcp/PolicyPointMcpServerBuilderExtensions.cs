using System.Collections.Concurrent;
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
    // Bound on remembered sessions (HTTP transports); beyond it the oldest-inserted half is dropped, which only
    // costs those sessions their parent link, never a decision.
    private const int MaxSessions = 10_000;

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
        // The SDK hands filters a per-request wrapper of the server, so chains are keyed by session id; stdio has
        // none and one session per process, which gets the registration's own chain.
        var chains = new SessionChains();
        if (string.IsNullOrWhiteSpace(options.SpiffeId) && options.IdentityResolver is null)
            throw new ArgumentException("PolicyPointMcpOptions needs SpiffeId or IdentityResolver.", nameof(configure));

        return builder.WithRequestFilters(filters => filters.AddCallToolFilter(next => async (context, cancellationToken) =>
        {
            var services = context.Services ?? context.Server.Services
                ?? throw new InvalidOperationException("No service provider on the MCP request; cannot resolve IPdpClient.");
            var pdp = services.GetService<IPdpClient>()
                ?? throw new InvalidOperationException("IPdpClient is not registered: call services.AddPolicyPointClient(...) at start-up.");
            var logger = services.GetService<ILoggerFactory>()?.CreateLogger("PolicyPoint.Mcp") ?? NullLogger.Instance;
            var chain = chains.For(context.Server.SessionId);
            return await AuthorizeAsync(context, next, pdp, options, chain, logger, cancellationToken).ConfigureAwait(false);
        }));
    }

    internal static async ValueTask<CallToolResult> AuthorizeAsync(RequestContext<CallToolRequestParams> context,
        McpRequestHandler<CallToolRequestParams, CallToolResult> next, IPdpClient pdp, PolicyPointMcpOptions options,
        McpSessionChain chain, ILogger logger, CancellationToken cancellationToken)
    {
        var toolName = context.Params?.Name ?? "";
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

    private sealed class SessionChains
    {
        private readonly McpSessionChain _noSession = new();
        private readonly ConcurrentDictionary<string, McpSessionChain> _bySession = new(StringComparer.Ordinal);
        private readonly ConcurrentQueue<string> _order = new();

        public McpSessionChain For(string? sessionId)
        {
            if (string.IsNullOrEmpty(sessionId)) return _noSession;
            if (_bySession.TryGetValue(sessionId, out var chain)) return chain;
            chain = _bySession.GetOrAdd(sessionId, id => new McpSessionChain(id));
            _order.Enqueue(sessionId);
            while (_bySession.Count > MaxSessions && _order.TryDequeue(out var oldest)) _bySession.TryRemove(oldest, out _);
            return chain;
        }
    }
}
