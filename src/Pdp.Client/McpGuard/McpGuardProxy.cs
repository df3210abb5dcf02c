using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using Pdp.Client.Mcp;
using PolicyPoint.V1;

namespace Pdp.Client.McpGuard;

/// <summary>
/// A PEP in front of an unmodified stdio MCP server. It relays newline-delimited JSON-RPC between a client
/// (the guard's own stdin/stdout) and a child server, asks the PDP before every <c>tools/call</c>, and optionally
/// filters <c>tools/list</c>. Every other message is forwarded byte-for-byte and in order. One instance serves one
/// MCP session; it is not reusable.
/// </summary>
public sealed class McpGuardProxy
{
    /// <summary>JSON-RPC "Parse error".</summary>
    public const int ParseError = -32700;
    /// <summary>JSON-RPC "Invalid Request".</summary>
    public const int InvalidRequest = -32600;
    /// <summary>JSON-RPC "Invalid params".</summary>
    public const int InvalidParams = -32602;

    private static readonly JsonSerializerOptions Json = McpJsonUtilities.DefaultOptions;
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    private readonly McpGuardOptions _options;
    private readonly IPdpClient _pdp;
    private readonly ILogger _logger;
    private readonly McpSessionChain _chain;

    private readonly SemaphoreSlim _toClientLock = new(1, 1);
    private readonly SemaphoreSlim _toChildLock = new(1, 1);
    private StreamWriter? _toClient;
    private StreamWriter? _toChild;

    // Requests whose responses the guard must look at, keyed by the client's request id.
    private readonly ConcurrentDictionary<RequestId, byte> _initializeIds = new();
    private readonly ConcurrentDictionary<RequestId, byte> _toolsListIds = new();
    private readonly ConcurrentDictionary<RequestId, string> _allowedCalls = new();
    // The guard's own requests to the child (never forwarded to the client).
    private readonly ConcurrentDictionary<RequestId, TaskCompletionSource<JsonRpcMessage>> _ownRequests = new();
    private readonly ConcurrentDictionary<string, ToolAnnotations?> _annotations = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _visible = new(StringComparer.Ordinal);
    // True once the guard holds the child's complete tool list; reset by notifications/tools/list_changed.
    private volatile bool _toolsKnown;
    // Outcome reports still in flight; the run waits for them so that a client hanging up right after a call
    // does not lose the call's outcome.
    private readonly ConcurrentDictionary<Task, byte> _pendingReports = new();
    private long _ownRequestCounter;
    private string? _childServerName;
    private Implementation? _clientInfo;

    /// <summary>Creates a guard for one session.</summary>
    /// <exception cref="ArgumentException">Invalid <paramref name="options"/>.</exception>
    public McpGuardProxy(McpGuardOptions options, IPdpClient pdp, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(pdp);
        options.Validate();
        _options = options;
        _pdp = pdp;
        _logger = logger ?? NullLogger.Instance;
        _chain = new McpSessionChain(options.SessionId);
    }

    /// <summary>The session id this guard sends to the PDP.</summary>
    public string SessionId => _chain.SessionId;

    /// <summary>The <c>tool.server</c> in use: the configured name, else the child's <c>serverInfo.name</c> once known.</summary>
    public string? ServerName => _options.ServerName ?? _childServerName;

    /// <summary>
    /// Starts <paramref name="command"/> as the child MCP server (its stderr is inherited, so it shares the guard's
    /// log stream), relays until the child's stdout closes, and returns the child's exit code. When the client closes
    /// its side, the child's stdin is closed and it gets <see cref="McpGuardOptions.ChildExitTimeout"/> to exit before
    /// it is killed.
    /// </summary>
    /// <exception cref="InvalidOperationException">The command cannot be started (message names it).</exception>
    public async Task<int> RunProcessAsync(string command, IReadOnlyList<string> arguments, Stream clientInput, Stream clientOutput, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(command);
        var start = new ProcessStartInfo(command)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = false,
            UseShellExecute = false,
            StandardOutputEncoding = Utf8,
            StandardInputEncoding = Utf8,
        };
        foreach (var a in arguments) start.ArgumentList.Add(a);
        Process child;
        try
        {
            child = Process.Start(start) ?? throw new InvalidOperationException($"could not start '{command}'.");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"could not start '{command}': {e.Message}", e);
        }
        using (child)
        {
            _logger.LogInformation("mcp-guard: started {Command} (pid {Pid}), session {Session}", command, child.Id, SessionId);
            try
            {
                await RunAsync(clientInput, clientOutput, child.StandardInput.BaseStream, child.StandardOutput.BaseStream, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                using var exitWait = new CancellationTokenSource(_options.ChildExitTimeout);
                try { await child.WaitForExitAsync(exitWait.Token).ConfigureAwait(false); }
                catch (OperationCanceledException)
                {
                    _logger.LogWarning("mcp-guard: child did not exit within {Timeout}; killing it", _options.ChildExitTimeout);
                    child.Kill(entireProcessTree: true);
                    await child.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
                }
            }
            _logger.LogInformation("mcp-guard: child exited with code {Code}", child.ExitCode);
            return child.ExitCode;
        }
    }

    /// <summary>
    /// Relays between the client streams and the child streams until the child's output ends (or
    /// <paramref name="cancellationToken"/> fires). When the client's input ends, the child's input is closed.
    /// </summary>
    public async Task RunAsync(Stream clientInput, Stream clientOutput, Stream childInput, Stream childOutput, CancellationToken cancellationToken = default)
    {
        _toClient = new StreamWriter(clientOutput, Utf8) { AutoFlush = false, NewLine = "\n" };
        _toChild = new StreamWriter(childInput, Utf8) { AutoFlush = false, NewLine = "\n" };
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var clientPump = Task.Run(() => PumpClientAsync(new StreamReader(clientInput, Utf8), stop.Token), CancellationToken.None);
        var childPump = Task.Run(() => PumpChildAsync(new StreamReader(childOutput, Utf8), stop.Token), CancellationToken.None);
        try
        {
            await childPump.ConfigureAwait(false);
        }
        finally
        {
            stop.Cancel();
            foreach (var pending in _ownRequests.Values) pending.TrySetCanceled();
            // The client pump may be parked in a read that cannot be interrupted; give it a moment, do not wait forever.
            await Task.WhenAny(clientPump, Task.Delay(200, CancellationToken.None)).ConfigureAwait(false);
            var reports = Task.WhenAll(_pendingReports.Keys);
            if (await Task.WhenAny(reports, Task.Delay(_options.ChildExitTimeout, CancellationToken.None)).ConfigureAwait(false) != reports)
                _logger.LogWarning("mcp-guard: {Count} outcome report(s) still pending at exit", _pendingReports.Count);
        }
    }

    // ---- client → child ------------------------------------------------------------------------------------------

    private async Task PumpClientAsync(StreamReader reader, CancellationToken ct)
    {
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var line = await reader.ReadLineAsync(ct).ConfigureAwait(false);
                if (line is null) break;
                if (string.IsNullOrWhiteSpace(line)) continue;
                var message = await ParseOrRejectAsync(line, toClient: true, ct).ConfigureAwait(false);
                if (message is null) continue;

                if (message is JsonRpcRequest request)
                {
                    switch (request.Method)
                    {
                        case RequestMethods.Initialize:
                            _initializeIds[request.Id] = 0;
                            _clientInfo = TryDeserialize<InitializeRequestParams>(request.Params)?.ClientInfo;
                            break;
                        case RequestMethods.ToolsList:
                            _toolsListIds[request.Id] = 0;
                            break;
                        case RequestMethods.ToolsCall:
                            await HandleToolCallAsync(request, line, ct).ConfigureAwait(false);
                            continue;
                    }
                }
                await WriteAsync(toClient: false, line, ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { return; }
        catch (IOException e) { _logger.LogWarning("mcp-guard: client stream failed: {Error}", e.Message); }
        catch (ObjectDisposedException) { }
        // The client is gone: closing the child's stdin is the MCP stdio way to ask it to exit.
        try { await _toChildLock.WaitAsync(CancellationToken.None).ConfigureAwait(false); _toChild!.Dispose(); }
        catch (IOException) { }
        finally { _toChildLock.Release(); }
    }

    private async Task HandleToolCallAsync(JsonRpcRequest request, string rawLine, CancellationToken ct)
    {
        CallToolRequestParams? call = TryDeserialize<CallToolRequestParams>(request.Params);
        if (call is null || string.IsNullOrWhiteSpace(call.Name))
        {
            await SendErrorAsync(toClient: true, IdNode(request.Id), InvalidParams, "tools/call needs params.name (a string)", ct).ConfigureAwait(false);
            return;
        }
        if (!_toolsKnown || !_annotations.ContainsKey(call.Name) && _annotationsStale) await FetchToolsAsync(ct).ConfigureAwait(false);

        CheckResponse response;
        try
        {
            var toolCall = new McpToolCall
            {
                SpiffeId = _options.SpiffeId,
                Server = ServerName,
                ToolName = call.Name,
                Arguments = McpToolCall.ArgumentsToJson(call.Arguments),
                Annotations = _annotations.GetValueOrDefault(call.Name),
                SessionId = _chain.SessionId,
                ParentDecisionId = _chain.LastDecisionId,
                ClientInfo = _clientInfo,
            };
            response = await _pdp.CheckAsync(toolCall.ToCheckRequest(), ct).ConfigureAwait(false);
        }
        catch (ArgumentException e)
        {
            response = PdpReasons.LocalDeny("invalid_request", e.Message);
        }
        _chain.Advance(response.DecisionId);

        if (response.Decision == Decision.Allow)
        {
            if (!string.IsNullOrEmpty(response.DecisionId)) _allowedCalls[request.Id] = response.DecisionId;
            _logger.LogInformation("mcp-guard: ALLOW {Tool} ({DecisionId})", call.Name, response.DecisionId);
            await WriteAsync(toClient: false, rawLine, ct).ConfigureAwait(false);
            return;
        }
        _logger.LogInformation("mcp-guard: {Decision} {Tool} ({DecisionId}): {Reasons}", response.Decision, call.Name, response.DecisionId, PdpReasons.Describe(response));
        var result = PolicyPointDenial.ToCallToolResult(response, call.Name);
        var reply = new JsonRpcResponse { Id = request.Id, Result = JsonSerializer.SerializeToNode(result, Json) };
        await WriteAsync(toClient: true, JsonSerializer.Serialize<JsonRpcMessage>(reply, Json), ct).ConfigureAwait(false);
    }

    // Learns the child's tool annotations by asking it directly (the client may never have listed tools).
    private async Task FetchToolsAsync(CancellationToken ct)
    {
        string? cursor = null;
        try
        {
            for (var page = 0; page < 50; page++)
            {
                var id = new RequestId($"policypoint-guard-{Interlocked.Increment(ref _ownRequestCounter)}");
                var tcs = new TaskCompletionSource<JsonRpcMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
                _ownRequests[id] = tcs;
                var parameters = cursor is null ? new JsonObject() : new JsonObject { ["cursor"] = cursor };
                var request = new JsonRpcRequest { Id = id, Method = RequestMethods.ToolsList, Params = parameters };
                await WriteAsync(toClient: false, JsonSerializer.Serialize<JsonRpcMessage>(request, Json), ct).ConfigureAwait(false);
                var answer = await tcs.Task.WaitAsync(_options.ChildRequestTimeout, ct).ConfigureAwait(false);
                if (answer is not JsonRpcResponse { Result: { } resultNode })
                {
                    _logger.LogWarning("mcp-guard: the child refused tools/list; calls go to the PDP without annotations");
                    break;
                }
                var result = TryDeserialize<ListToolsResult>(resultNode);
                if (result is null) break;
                Learn(result);
                cursor = result.NextCursor;
                if (string.IsNullOrEmpty(cursor)) break;
            }
        }
        catch (TimeoutException)
        {
            _logger.LogWarning("mcp-guard: no tools/list answer from the child within {Timeout}", _options.ChildRequestTimeout);
        }
        _toolsKnown = true;
        _annotationsStale = false;
    }

    // A client-driven tools/list may have been one page of several: an unknown tool name then triggers one full fetch.
    private volatile bool _annotationsStale;

    private void Learn(ListToolsResult result)
    {
        foreach (var tool in result.Tools) _annotations[tool.Name] = tool.Annotations;
    }

    // ---- child → client ------------------------------------------------------------------------------------------

    private async Task PumpChildAsync(StreamReader reader, CancellationToken ct)
    {
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var line = await reader.ReadLineAsync(ct).ConfigureAwait(false);
                if (line is null) break;
                if (string.IsNullOrWhiteSpace(line)) continue;
                var message = await ParseOrRejectAsync(line, toClient: false, ct).ConfigureAwait(false);
                if (message is null) continue;

                if (message is JsonRpcNotification { Method: NotificationMethods.ToolListChangedNotification })
                {
                    // The child's tools changed: annotations and tools/list verdicts must be learnt again.
                    _toolsKnown = false;
                    _visible.Clear();
                }
                else if (message is JsonRpcMessageWithId withId and (JsonRpcResponse or JsonRpcError))
                {
                    var id = withId.Id;
                    if (_ownRequests.TryRemove(id, out var own)) { own.TrySetResult(message); continue; }
                    if (_initializeIds.TryRemove(id, out _) && message is JsonRpcResponse init)
                        _childServerName = TryDeserialize<InitializeResult>(init.Result)?.ServerInfo?.Name;
                    if (_allowedCalls.TryRemove(id, out var decisionId)) ReportOutcome(decisionId, message);
                    if (_toolsListIds.TryRemove(id, out _) && message is JsonRpcResponse list && TryDeserialize<ListToolsResult>(list.Result) is { } tools)
                    {
                        Learn(tools);
                        _toolsKnown = true;
                        if (!string.IsNullOrEmpty(tools.NextCursor)) _annotationsStale = true;
                        if (_options.FilterToolsList)
                        {
                            var filtered = await FilterAsync(list, tools, ct).ConfigureAwait(false);
                            if (filtered is not null) { await WriteAsync(toClient: true, filtered, ct).ConfigureAwait(false); continue; }
                        }
                    }
                }
                await WriteAsync(toClient: true, line, ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
        catch (IOException e) { _logger.LogWarning("mcp-guard: child stream failed: {Error}", e.Message); }
    }

    private void ReportOutcome(string decisionId, JsonRpcMessage message)
    {
        if (!_options.ReportOutcomes) return;
        var (status, detail) = message switch
        {
            JsonRpcError e => ("failed", $"JSON-RPC error {e.Error.Code}: {e.Error.Message}"),
            JsonRpcResponse r when r.Result?["isError"]?.GetValueKind() == JsonValueKind.True => ("failed", "tool returned isError"),
            _ => ("executed", (string?)null),
        };
        var report = _pdp.ReportOutcomeAsync(decisionId, status, detail, CancellationToken.None);
        _pendingReports[report] = 0;
        report.ContinueWith(t => _pendingReports.TryRemove(t, out _), TaskScheduler.Default);
    }

    // Returns the re-serialized response without the tools this identity may never call, or null to forward as is.
    private async Task<string?> FilterAsync(JsonRpcResponse response, ListToolsResult tools, CancellationToken ct)
    {
        var hidden = new HashSet<string>(StringComparer.Ordinal);
        foreach (var tool in tools.Tools)
        {
            if (!_visible.TryGetValue(tool.Name, out var visible))
            {
                var probe = new McpToolCall
                {
                    SpiffeId = _options.SpiffeId,
                    Server = ServerName,
                    ToolName = tool.Name,
                    Annotations = tool.Annotations,
                    ClientInfo = _clientInfo,
                    Method = RequestMethods.ToolsList,
                };
                var answer = await _pdp.CheckAsync(probe.ToCheckRequest(), ct).ConfigureAwait(false);
                visible = answer.Decision != Decision.Deny || !answer.Reasons.Any(r => _options.HideOnReasonCodes.Contains(r.Code));
                // A fail-closed answer says nothing about the grant: do not cache it.
                if (!answer.Reasons.Any(r => r.Code == PdpReasons.PdpUnavailable)) _visible[tool.Name] = visible;
            }
            if (!visible) hidden.Add(tool.Name);
        }
        if (hidden.Count == 0) return null;
        _logger.LogInformation("mcp-guard: tools/list hides {Tools}", string.Join(", ", hidden));
        var result = response.Result!.DeepClone().AsObject();
        var kept = new JsonArray();
        foreach (var node in result["tools"]!.AsArray())
            if (node?["name"]?.GetValue<string>() is not { } name || !hidden.Contains(name)) kept.Add(node?.DeepClone());
        result["tools"] = kept;
        return JsonSerializer.Serialize<JsonRpcMessage>(new JsonRpcResponse { Id = response.Id, Result = result }, Json);
    }

    // ---- plumbing ------------------------------------------------------------------------------------------------

    /// <summary>
    /// Parses one line with the SDK's JSON-RPC converter. Invalid JSON gets -32700, valid JSON that is not a JSON-RPC
    /// message gets -32600; the error goes back to the side that sent the line, and null is returned.
    /// </summary>
    private async Task<JsonRpcMessage?> ParseOrRejectAsync(string line, bool toClient, CancellationToken ct)
    {
        var (message, code, error, id) = Parse(line);
        if (message is not null) return message;
        _logger.LogWarning("mcp-guard: malformed message from the {Side}: {Error}", toClient ? "client" : "server", error);
        await SendErrorAsync(toClient, id, code, error!, ct).ConfigureAwait(false);
        return null;
    }

    /// <summary>Classifies one line: a message, or a JSON-RPC error code with a message and the request id if one could be read.</summary>
    internal static (JsonRpcMessage? Message, int Code, string? Error, JsonNode? Id) Parse(string line)
    {
        JsonNode? node;
        try { node = JsonNode.Parse(line); }
        catch (JsonException e) { return (null, ParseError, "Parse error: " + e.Message, null); }
        JsonNode? id = null;
        if (node is JsonObject obj && obj.TryGetPropertyValue("id", out var idNode) && idNode is JsonValue v
            && (v.GetValueKind() is JsonValueKind.String or JsonValueKind.Number))
            id = idNode.DeepClone();
        if (node is not JsonObject o || o["jsonrpc"]?.GetValueKind() != JsonValueKind.String || o["jsonrpc"]!.GetValue<string>() != "2.0")
            return (null, InvalidRequest, "Invalid Request: expected a JSON-RPC 2.0 object with \"jsonrpc\": \"2.0\"", id);
        try
        {
            var message = node.Deserialize<JsonRpcMessage>(Json);
            return message is null ? (null, InvalidRequest, "Invalid Request: empty message", id) : (message, 0, null, null);
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException or FormatException)
        {
            return (null, InvalidRequest, "Invalid Request: " + e.Message, id);
        }
    }

    private Task SendErrorAsync(bool toClient, JsonNode? id, int code, string message, CancellationToken ct)
    {
        var error = new JsonObject
        {
            ["jsonrpc"] = "2.0",
            ["id"] = id,
            ["error"] = new JsonObject { ["code"] = code, ["message"] = message },
        };
        return WriteAsync(toClient, error.ToJsonString(), ct);
    }

    private static JsonNode? IdNode(RequestId id) => JsonSerializer.SerializeToNode(id, Json);

    private static T? TryDeserialize<T>(JsonNode? node) where T : class
    {
        if (node is null) return null;
        try { return node.Deserialize<T>(Json); }
        catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException or FormatException) { return null; }
    }

    private async Task WriteAsync(bool toClient, string line, CancellationToken ct)
    {
        var gate = toClient ? _toClientLock : _toChildLock;
        var writer = toClient ? _toClient! : _toChild!;
        await gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            await writer.WriteAsync(line.AsMemory(), ct).ConfigureAwait(false);
            await writer.WriteAsync('\n').ConfigureAwait(false);
            await writer.FlushAsync(ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is ObjectDisposedException or IOException)
        {
            // The peer is gone (e.g. the child exited); the pumps notice on their next read.
            _logger.LogWarning("mcp-guard: dropped a message to the {Side}: {Error}", toClient ? "client" : "server", e.Message);
        }
        finally { gate.Release(); }
    }
}
