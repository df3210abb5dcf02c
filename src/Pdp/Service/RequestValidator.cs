using Google.Protobuf.WellKnownTypes;
using PolicyPoint.V1;

namespace Pdp.Service;

/// <summary>Why a request was refused: the offending <paramref name="Field"/> (proto JSON path) and a message that
/// starts with it, e.g. <c>tool.name is required</c>.</summary>
public sealed record ValidationError(string Field, string Message);

/// <summary>
/// Checks a <see cref="CheckRequest"/> before evaluation: required fields, enum values, timestamp ranges, id
/// formats and the configured <see cref="CheckLimits"/>. Pure and thread safe; never throws for any input.
/// </summary>
public static class RequestValidator
{
    // RFC 3339 range of google.protobuf.Timestamp: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999999Z.
    private const long MinTimestampSeconds = -62135596800L;
    private const long MaxTimestampSeconds = 253402300799L;

    /// <summary>Returns the first problem found, or null when <paramref name="request"/> is acceptable.</summary>
    public static ValidationError? Validate(CheckRequest request, CheckLimits limits)
    {
        if (request is null) return new ValidationError("request", "request is required");
        var size = request.CalculateSize();
        if (size > limits.MaxMessageBytes)
            return new ValidationError("request", $"request is {size} bytes, more than the limit of {limits.MaxMessageBytes} bytes");

        if (request.RequestId.Length > 0 && Id(request.RequestId, "request_id", limits) is { } rid) return rid;

        var w = request.Workload;
        if (w is not null)
        {
            if (w.SpiffeId.Length > 0 && !IsSpiffeId(w.SpiffeId))
                return new ValidationError("workload.spiffe_id", "workload.spiffe_id is not a SPIFFE ID (spiffe://trust-domain/path)");
            if ((Str(w.SpiffeId, "workload.spiffe_id", limits) ?? Str(w.Issuer, "workload.issuer", limits)
                ?? Str(w.Subject, "workload.subject", limits) ?? Map(w.Attributes, "workload.attributes", limits)) is { } e) return e;
        }

        var t = request.Tool;
        if (t is null || t.Name.Length == 0) return new ValidationError("tool.name", "tool.name is required");
        if (t.Name.Trim().Length == 0) return new ValidationError("tool.name", "tool.name is blank");
        if ((Str(t.Name, "tool.name", limits) ?? Str(t.Server, "tool.server", limits)
            ?? Map(t.Annotations, "tool.annotations", limits)) is { } te) return te;
        if (t.Arguments is not null && StructCheck(t.Arguments, "tool.arguments", 1, limits) is { } ae) return ae;

        var r = request.Resource;
        if (r is not null && (Str(r.Type, "resource.type", limits) ?? Str(r.Id, "resource.id", limits)
            ?? Str(r.Sensitivity, "resource.sensitivity", limits)) is { } re) return re;

        if (request.Context is not null && StructCheck(request.Context, "context", 1, limits) is { } ce) return ce;

        var c = request.Credential;
        if (c is not null)
        {
            if (!System.Enum.IsDefined(c.Kind))
                return new ValidationError("credential.kind", $"credential.kind has unknown enum value {(int)c.Kind}");
            if ((Str(c.Id, "credential.id", limits) ?? Time(c.IssuedAt, "credential.issued_at")
                ?? Time(c.ExpiresAt, "credential.expires_at")) is { } cre) return cre;
            for (int i = 0; i < c.Scopes.Count; i++)
                if (Str(c.Scopes[i], $"credential.scopes[{i}]", limits) is { } se) return se;
        }

        var s = request.Session;
        if (s is not null)
        {
            if (s.SessionId.Length > 0 && Id(s.SessionId, "session.session_id", limits) is { } sid) return sid;
            if (s.ParentDecisionId.Length > 0 && !Guid.TryParseExact(s.ParentDecisionId, "D", out _))
                return new ValidationError("session.parent_decision_id", "session.parent_decision_id is not a UUID");
        }

        var o = request.OnBehalfOf;
        if (o is not null && (Str(o.Subject, "on_behalf_of.subject", limits) ?? Map(o.Attributes, "on_behalf_of.attributes", limits)) is { } oe)
            return oe;
        return null;
    }

    /// <summary>SPIFFE ID shape: <c>spiffe://</c>, a lowercase trust domain of [a-z0-9.-_], then an optional path of
    /// non-empty segments from [A-Za-z0-9.-_] that are not <c>.</c> or <c>..</c>.</summary>
    public static bool IsSpiffeId(string id)
    {
        const string scheme = "spiffe://";
        if (!id.StartsWith(scheme, StringComparison.Ordinal) || id.Length > 2048) return false;
        var rest = id.AsSpan(scheme.Length);
        var slash = rest.IndexOf('/');
        var domain = slash < 0 ? rest : rest[..slash];
        if (domain.Length == 0) return false;
        foreach (var ch in domain)
            if (!(ch is >= 'a' and <= 'z' or >= '0' and <= '9' or '.' or '-' or '_')) return false;
        if (slash < 0) return true;
        var path = rest[(slash + 1)..].ToString();
        foreach (var seg in path.Split('/'))
        {
            if (seg.Length == 0 || seg is "." or "..") return false;
            foreach (var ch in seg)
                if (!(ch is >= 'a' and <= 'z' or >= 'A' and <= 'Z' or >= '0' and <= '9' or '.' or '-' or '_')) return false;
        }
        return true;
    }

    // Ids (MCP session ids, request ids) are visible ASCII 0x21..0x7E, as the MCP spec asks of session ids.
    private static ValidationError? Id(string value, string field, CheckLimits limits)
    {
        if (value.Length > limits.MaxIdLength)
            return new ValidationError(field, $"{field} is {value.Length} characters, more than the limit of {limits.MaxIdLength}");
        foreach (var ch in value)
            if (ch is < '\x21' or > '\x7e')
                return new ValidationError(field, $"{field} is malformed: only visible ASCII characters are allowed");
        return null;
    }

    private static ValidationError? Str(string value, string field, CheckLimits limits) =>
        value.Length > limits.MaxStringLength
            ? new ValidationError(field, $"{field} is {value.Length} characters, more than the limit of {limits.MaxStringLength}")
            : null;

    private static ValidationError? Map(Google.Protobuf.Collections.MapField<string, string> map, string field, CheckLimits limits)
    {
        foreach (var (k, v) in map)
        {
            var at = $"{field}[{Quote(k, limits)}]";
            if (k.Length > limits.MaxStringLength) return new ValidationError(at, $"{field} has a key longer than {limits.MaxStringLength} characters");
            if (Str(v, at, limits) is { } e) return e;
        }
        return null;
    }

    private static ValidationError? Time(Timestamp? ts, string field)
    {
        if (ts is null) return null;
        if (ts.Seconds < MinTimestampSeconds || ts.Seconds > MaxTimestampSeconds || ts.Nanos < 0 || ts.Nanos > 999_999_999)
            return new ValidationError(field, $"{field} is out of range (0001-01-01 to 9999-12-31, nanos 0..999999999)");
        return null;
    }

    private static ValidationError? StructCheck(Struct s, string field, int depth, CheckLimits limits)
    {
        if (depth > limits.MaxNestingDepth)
            return new ValidationError(field, $"{field} is nested more than {limits.MaxNestingDepth} levels deep");
        foreach (var (k, v) in s.Fields)
        {
            if (k.Length > limits.MaxStringLength)
                return new ValidationError(field, $"{field} has a key longer than {limits.MaxStringLength} characters");
            if (ValueCheck(v, $"{field}.{Quote(k, limits)}", depth, limits) is { } e) return e;
        }
        return null;
    }

    private static ValidationError? ValueCheck(Value? v, string field, int depth, CheckLimits limits)
    {
        if (v is null) return new ValidationError(field, $"{field} has no value");
        switch (v.KindCase)
        {
            case Value.KindOneofCase.None:
                return new ValidationError(field, $"{field} has no value kind set");
            case Value.KindOneofCase.NumberValue when !double.IsFinite(v.NumberValue):
                return new ValidationError(field, $"{field} is not a finite number");
            case Value.KindOneofCase.StringValue:
                return Str(v.StringValue, field, limits);
            case Value.KindOneofCase.StructValue:
                return StructCheck(v.StructValue, field, depth + 1, limits);
            case Value.KindOneofCase.ListValue:
                if (depth + 1 > limits.MaxNestingDepth)
                    return new ValidationError(field, $"{field} is nested more than {limits.MaxNestingDepth} levels deep");
                for (int i = 0; i < v.ListValue.Values.Count; i++)
                    if (ValueCheck(v.ListValue.Values[i], $"{field}[{i}]", depth + 1, limits) is { } e) return e;
                return null;
            default:
                return null;
        }
    }

    // Field paths name the key; long or odd keys are shortened so the message stays readable.
    private static string Quote(string key, CheckLimits limits)
    {
        var k = key.Length > 64 ? key[..64] + "…" : key;
        return k.All(ch => char.IsAsciiLetterOrDigit(ch) || ch == '_') && k.Length > 0 ? k : "\"" + k.Replace("\"", "\\\"") + "\"";
    }
}
