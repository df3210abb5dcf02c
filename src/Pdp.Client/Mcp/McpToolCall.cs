using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using ModelContextProtocol.Protocol;
using PolicyPoint.V1;

namespace Pdp.Client.Mcp;

/// <summary>
/// What a PEP knows about one MCP <c>tools/call</c>, independent of where it sits (SDK filter or McpGuard).
/// <see cref="ToCheckRequest"/> maps it onto the PDP's <see cref="CheckRequest"/>.
/// </summary>
public sealed class McpToolCall
{
    /// <summary>The caller's workload identity, e.g. <c>spiffe://example.org/agent/x</c>. Required.</summary>
    public required string SpiffeId { get; init; }

    /// <summary>The MCP server's name (configured, or <c>serverInfo.name</c>).</summary>
    public string? Server { get; init; }

    /// <summary>Tool name as in <c>tools/call</c>. Required.</summary>
    public required string ToolName { get; init; }

    /// <summary>The call's <c>arguments</c> object (absent or JSON null means none). Must be a JSON object when present.</summary>
    public JsonElement? Arguments { get; init; }

    /// <summary>The tool's annotations from <c>tools/list</c>, when known.</summary>
    public ToolAnnotations? Annotations { get; init; }

    /// <summary>MCP session id; decisions of one session form a chain.</summary>
    public string? SessionId { get; init; }

    /// <summary>The previous decision of the same session, if any.</summary>
    public string? ParentDecisionId { get; init; }

    /// <summary>The MCP client's <c>clientInfo</c> from <c>initialize</c>, when known.</summary>
    public Implementation? ClientInfo { get; init; }

    /// <summary>Extra workload attributes (e.g. deployment labels). Optional.</summary>
    public IReadOnlyDictionary<string, string>? WorkloadAttributes { get; init; }

    /// <summary>Credential metadata of the call, when the PEP has one. Optional.</summary>
    public Credential? Credential { get; init; }

    /// <summary>The MCP method being authorized: <c>tools/call</c>, or <c>tools/list</c> for a listing probe.</summary>
    public string Method { get; init; } = "tools/call";

    /// <summary>Idempotency key for the PDP. Optional.</summary>
    public string? RequestId { get; init; }

    /// <summary>
    /// Builds the <see cref="CheckRequest"/>: identity in <c>workload</c>, server/name/arguments/annotations in
    /// <c>tool</c> (annotations as <c>"true"</c>/<c>"false"</c> strings, only those the server declared),
    /// session id and parent in <c>session</c>, a <c>file</c> resource when the arguments carry a string <c>path</c>,
    /// and <c>context.mcp</c> = {method, client_name, client_version}.
    /// </summary>
    /// <exception cref="ArgumentException">Empty identity or tool name, or arguments that are not a JSON object.</exception>
    public CheckRequest ToCheckRequest()
    {
        if (string.IsNullOrWhiteSpace(SpiffeId)) throw new ArgumentException("SpiffeId is required.", nameof(SpiffeId));
        if (string.IsNullOrWhiteSpace(ToolName)) throw new ArgumentException("ToolName is required.", nameof(ToolName));

        var workload = new Workload { SpiffeId = SpiffeId };
        if (WorkloadAttributes is not null) foreach (var (k, v) in WorkloadAttributes) workload.Attributes[k] = v;

        var tool = new PolicyPoint.V1.Tool { Server = Server ?? "", Name = ToolName, Arguments = ToStruct(Arguments) };
        if (Annotations is { } a)
        {
            AddHint(tool, "readOnlyHint", a.ReadOnlyHint);
            AddHint(tool, "destructiveHint", a.DestructiveHint);
            AddHint(tool, "idempotentHint", a.IdempotentHint);
            AddHint(tool, "openWorldHint", a.OpenWorldHint);
        }

        var mcp = new Struct();
        mcp.Fields["method"] = Value.ForString(Method);
        if (ClientInfo is not null)
        {
            mcp.Fields["client_name"] = Value.ForString(ClientInfo.Name ?? "");
            mcp.Fields["client_version"] = Value.ForString(ClientInfo.Version ?? "");
        }
        var context = new Struct();
        context.Fields["mcp"] = Value.ForStruct(mcp);

        var request = new CheckRequest
        {
            RequestId = RequestId ?? "",
            Workload = workload,
            Tool = tool,
            Context = context,
            Session = new Session { SessionId = SessionId ?? "", ParentDecisionId = ParentDecisionId ?? "" },
        };
        // server-filesystem and most file tools name their target "path"; give the policy a typed resource for it.
        if (tool.Arguments.Fields.TryGetValue("path", out var path) && path.KindCase == Value.KindOneofCase.StringValue)
            request.Resource = new PolicyPoint.V1.Resource { Type = "file", Id = path.StringValue };
        if (Credential is not null) request.Credential = Credential;
        return request;
    }

    private static void AddHint(PolicyPoint.V1.Tool tool, string name, bool? value)
    {
        if (value is { } v) tool.Annotations[name] = v ? "true" : "false";
    }

    /// <summary>Converts a JSON object to a protobuf <see cref="Struct"/>; null/undefined gives an empty struct.</summary>
    /// <exception cref="ArgumentException">The element is not an object.</exception>
    public static Struct ToStruct(JsonElement? element)
    {
        if (element is not { } e || e.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined) return new Struct();
        if (e.ValueKind != JsonValueKind.Object)
            throw new ArgumentException($"tool arguments must be a JSON object, got {e.ValueKind}.");
        return JsonParser.Default.Parse<Struct>(e.GetRawText());
    }

    /// <summary>Converts an SDK argument dictionary (as in <see cref="CallToolRequestParams.Arguments"/>) to one JSON object.</summary>
    public static JsonElement? ArgumentsToJson(IDictionary<string, JsonElement>? arguments)
    {
        if (arguments is null) return null;
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            foreach (var (k, v) in arguments) { w.WritePropertyName(k); v.WriteTo(w); }
            w.WriteEndObject();
        }
        return JsonDocument.Parse(buffer.ToArray()).RootElement.Clone();
    }
}
