using System.Globalization;
using System.Text.Json.Nodes;
using Google.Protobuf.WellKnownTypes;
using Pdp.Policy;
using PolicyPoint.V1;

namespace Pdp.Service;

/// <summary>
/// Builds the Rego input document from a validated <see cref="CheckRequest"/>. Field names mirror the request's
/// proto JSON names in snake_case; sub-messages the caller did not send are absent (so rules reading them are
/// undefined), and what only the PDP knows is added: <c>session.history</c> and <c>request.time</c>/<c>time_ns</c>.
/// <code>
/// { "workload": {"spiffe_id","issuer","subject","attributes":{}},
///   "tool": {"server","name","arguments":{},"annotations":{}},
///   "resource": {"type","id","sensitivity"}, "context": {},
///   "credential": {"id","kind":"jit"|"long_lived","issued_at","expires_at","issued_at_ns","expires_at_ns","scopes":[]},
///   "session": {"session_id","parent_decision_id","history":[{"decision_id","tool","server","resource","decision","labels","time"}]},
///   "on_behalf_of": {"subject","attributes":{}},
///   "request": {"id","time","time_ns"} }
/// </code>
/// </summary>
public static class InputBuilder
{
    /// <summary>The input document. <paramref name="now"/> is the request time; <paramref name="history"/> oldest first.</summary>
    public static JsonObject Build(CheckRequest request, IReadOnlyList<SessionEvent> history, DateTimeOffset now) =>
        BuildInput(request, history, now).Document;

    /// <summary>The input as a <see cref="PolicyInput"/>: the history is spliced in as cached JSON, not rebuilt.</summary>
    public static PolicyInput BuildInput(CheckRequest request, IReadOnlyList<SessionEvent> history, DateTimeOffset now) =>
        new(BuildBase(request, now), history);

    private static JsonObject BuildBase(CheckRequest request, DateTimeOffset now)
    {
        var input = new JsonObject();
        if (request.Workload is { } w)
            input["workload"] = new JsonObject
            {
                ["spiffe_id"] = w.SpiffeId, ["issuer"] = w.Issuer, ["subject"] = w.Subject,
                ["attributes"] = JsonUtil.FromMap(w.Attributes),
            };
        var t = request.Tool;
        input["tool"] = new JsonObject
        {
            ["server"] = t.Server, ["name"] = t.Name,
            ["arguments"] = t.Arguments is null ? new JsonObject() : JsonUtil.FromStruct(t.Arguments),
            ["annotations"] = JsonUtil.FromMap(t.Annotations),
        };
        if (request.Resource is { } r)
            input["resource"] = new JsonObject { ["type"] = r.Type, ["id"] = r.Id, ["sensitivity"] = r.Sensitivity };
        input["context"] = request.Context is null ? new JsonObject() : JsonUtil.FromStruct(request.Context);
        if (request.Credential is { } c)
        {
            var cred = new JsonObject { ["id"] = c.Id };
            if (KindName(c.Kind) is { } kind) cred["kind"] = kind;
            if (c.IssuedAt is not null) { cred["issued_at"] = Rfc3339(c.IssuedAt); cred["issued_at_ns"] = Nanos(c.IssuedAt); }
            if (c.ExpiresAt is not null) { cred["expires_at"] = Rfc3339(c.ExpiresAt); cred["expires_at_ns"] = Nanos(c.ExpiresAt); }
            cred["scopes"] = new JsonArray(c.Scopes.Select(s => (JsonNode?)s).ToArray());
            input["credential"] = cred;
        }
        var session = new JsonObject
        {
            ["session_id"] = request.Session?.SessionId ?? "",
            ["parent_decision_id"] = request.Session?.ParentDecisionId ?? "",
            // Filled by PolicyInput from the PDP's own session record (as nodes or as cached JSON text).
            ["history"] = new JsonArray(),
        };
        input["session"] = session;
        if (request.OnBehalfOf is { } o)
            input["on_behalf_of"] = new JsonObject { ["subject"] = o.Subject, ["attributes"] = JsonUtil.FromMap(o.Attributes) };
        input["request"] = new JsonObject
        {
            ["id"] = request.RequestId,
            ["time"] = Rfc3339(now),
            ["time_ns"] = UnixNanos(now),
        };
        return input;
    }

    /// <summary><c>jit</c>, <c>long_lived</c>, or null for unspecified.</summary>
    public static string? KindName(CredentialKind kind) => kind switch
    {
        CredentialKind.Jit => "jit",
        CredentialKind.LongLived => "long_lived",
        _ => null,
    };

    /// <summary>RFC 3339 UTC text with nanosecond precision when present (e.g. <c>2026-01-02T03:04:05.123456789Z</c>).</summary>
    public static string Rfc3339(Timestamp ts)
    {
        var dt = DateTimeOffset.FromUnixTimeSeconds(ts.Seconds);
        var text = dt.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture);
        if (ts.Nanos != 0) text += "." + ts.Nanos.ToString("D9", CultureInfo.InvariantCulture).TrimEnd('0');
        return text + "Z";
    }

    /// <summary>RFC 3339 UTC text of <paramref name="time"/> (100 ns precision).</summary>
    public static string Rfc3339(DateTimeOffset time) => Rfc3339(Timestamp.FromDateTimeOffset(time));

    private static long Nanos(Timestamp ts) =>
        // Saturate instead of overflowing for far dates (int64 nanoseconds cover 1677..2262).
        ts.Seconds > 9_223_372_035L ? long.MaxValue : ts.Seconds < -9_223_372_035L ? long.MinValue : ts.Seconds * 1_000_000_000L + ts.Nanos;

    private static long UnixNanos(DateTimeOffset t) => (t.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100;
}
