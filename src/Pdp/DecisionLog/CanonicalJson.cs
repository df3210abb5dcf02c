using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Pdp.DecisionLog;

/// <summary>
/// Canonical JSON text for the hash chain: object keys sorted (ordinal), last duplicate key wins, no whitespace,
/// strings with minimal escaping (<c>\u0000</c> replaced by U+FFFD since PostgreSQL jsonb refuses it), numbers
/// in PostgreSQL <c>numeric</c> plain notation (<c>1e2</c> → <c>100</c>, <c>1.50e1</c> → <c>15.0</c>).
/// Canonicalizing the text PostgreSQL returns from a jsonb column gives back the same canonical text, which is
/// what lets <c>pdp verify-log</c> recompute the hashes from the stored rows.
/// </summary>
public static class CanonicalJson
{
    // Exponents beyond this would overflow PostgreSQL numeric; such documents are treated as not storable JSON.
    private const int MaxExponent = 1000;

    /// <summary>
    /// Canonical form of <paramref name="json"/>, or null when <paramref name="json"/> is null.
    /// Text that is not valid JSON (or not storable in jsonb) becomes a JSON string holding the text,
    /// so a decision record is never lost over a malformed field.
    /// </summary>
    public static string? Canonicalize(string? json)
    {
        if (json is null) return null;
        if (TryCanonicalize(json, out var canonical)) return canonical;
        var sb = new StringBuilder(json.Length + 2);
        WriteString(sb, json);
        return sb.ToString();
    }

    /// <summary>True and the canonical text when <paramref name="json"/> is valid, storable JSON.</summary>
    public static bool TryCanonicalize(string json, out string canonical)
    {
        canonical = "";
        try
        {
            using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 256 });
            var sb = new StringBuilder(json.Length);
            Write(sb, doc.RootElement);
            canonical = sb.ToString();
            return true;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or ArgumentException)
        {
            return false;
        }
    }

    /// <summary>
    /// The canonical text of a JSON node tree, written directly (no text round trip) with the same rules as
    /// <see cref="Canonicalize"/>, so <c>Canonicalize(text) == text</c> by construction. For a listed (object, key) in
    /// <paramref name="substitutions"/>, the given text (itself canonical) is written as that member's value (added
    /// when absent), or the member is left out when the text is null. False, when the tree cannot be written that
    /// way (nested deeper than 200, a number beyond PostgreSQL numeric, a NaN, two keys equal once U+0000 is
    /// replaced): the caller then takes the text road.
    /// </summary>
    public static bool TryWrite(JsonNode? node, IReadOnlyDictionary<(JsonObject Host, string Key), string?>? substitutions, out string text)
    {
        // One builder per thread, reused: a masked input document is a few KB, and a fresh builder grew in steps.
        var sb = t_builder ?? new StringBuilder(4096);
        t_builder = null;   // taken: a nested call (none today) would get its own
        try
        {
            if (WriteNode(sb, node, Pdp.Service.JsonUtil.Concrete(substitutions), 0))
            {
                text = sb.ToString();
                return true;
            }
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException or ArgumentException)
        {
        }
        finally
        {
            if (sb.Capacity <= 64 * 1024) t_builder = sb.Clear();
        }
        text = "";
        return false;
    }

    // An object member on the way out: its sanitized key (the sort key), the key as held, and its value or the
    // substituted text.
    private readonly record struct Member(string Key, string Raw, JsonNode? Value, bool Substituted);

    private static readonly Comparison<Member> MemberOrder = (a, b) => string.CompareOrdinal(a.Key, b.Key);

    [ThreadStatic] private static StringBuilder? t_builder;

    private static bool WriteNode(StringBuilder sb, JsonNode? node, Dictionary<(JsonObject, string), string?>? subs, int depth)
    {
        if (depth > 200) return false;
        switch (node)
        {
            case null:
                sb.Append("null");
                return true;
            case JsonObject obj:
            {
                // A pooled member array, walked by index (GetAt): no list or boxed enumerator per object.
                var members = ArrayPool<Member>.Shared.Rent(obj.Count + (subs?.Count ?? 0) + 1);
                var n = 0;
                try
                {
                    for (var i = 0; i < obj.Count; i++)
                    {
                        var (k, v) = obj.GetAt(i);
                        if (subs is not null && subs.TryGetValue((obj, k), out var raw))
                        {
                            if (raw is not null) members[n++] = new(Sanitize(k), k, null, true);
                            continue;
                        }
                        members[n++] = new(Sanitize(k), k, v, false);
                    }
                    if (subs is not null)
                        foreach (var ((host, key), raw) in subs)
                            if (ReferenceEquals(host, obj) && raw is not null && !obj.ContainsKey(key)) members[n++] = new(Sanitize(key), key, null, true);
                    var span = members.AsSpan(0, n);
                    span.Sort(MemberOrder);
                    for (var i = 1; i < span.Length; i++)
                        if (span[i].Key == span[i - 1].Key) return false;
                    sb.Append('{');
                    for (var i = 0; i < span.Length; i++)
                    {
                        if (i > 0) sb.Append(',');
                        var m = span[i];
                        WriteString(sb, m.Key);
                        sb.Append(':');
                        if (m.Substituted) sb.Append(subs![(obj, m.Raw)]);
                        else if (!WriteNode(sb, m.Value, subs, depth + 1)) return false;
                    }
                    sb.Append('}');
                    return true;
                }
                finally
                {
                    Array.Clear(members, 0, n);
                    ArrayPool<Member>.Shared.Return(members);
                }
            }
            case JsonArray arr:
                sb.Append('[');
                for (var i = 0; i < arr.Count; i++)
                {
                    if (i > 0) sb.Append(',');
                    if (!WriteNode(sb, arr[i], subs, depth + 1)) return false;
                }
                sb.Append(']');
                return true;
            case JsonValue v:
                switch (v.GetValueKind())
                {
                    case JsonValueKind.String: WriteString(sb, v.GetValue<string>()); return true;
                    case JsonValueKind.Number: sb.Append(NormalizeNumber(v.ToJsonString())); return true;
                    case JsonValueKind.True: sb.Append("true"); return true;
                    case JsonValueKind.False: sb.Append("false"); return true;
                    case JsonValueKind.Null: sb.Append("null"); return true;
                    default: return false;
                }
            default:
                return false;
        }
    }

    /// <summary>Appends <paramref name="s"/> as a canonical JSON string literal.</summary>
    public static void WriteString(StringBuilder sb, string s)
    {
        sb.Append('"');
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                case '\0': sb.Append('\uFFFD'); break;
                default:
                    if (c < 0x20) sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) { sb.Append(c).Append(s[++i]); }
                    else if (char.IsSurrogate(c)) sb.Append('\uFFFD'); // lone surrogate: not encodable as UTF-8
                    else sb.Append(c);
                    break;
            }
        }
        sb.Append('"');
    }

    private static void Write(StringBuilder sb, JsonElement e)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
            {
                var props = SortedMembers(e);
                sb.Append('{');
                var first = true;
                foreach (var (k, v) in props)
                {
                    if (!first) sb.Append(',');
                    first = false;
                    WriteString(sb, k);
                    sb.Append(':');
                    Write(sb, v);
                }
                sb.Append('}');
                break;
            }
            case JsonValueKind.Array:
            {
                sb.Append('[');
                var first = true;
                foreach (var v in e.EnumerateArray())
                {
                    if (!first) sb.Append(',');
                    first = false;
                    Write(sb, v);
                }
                sb.Append(']');
                break;
            }
            case JsonValueKind.String: WriteString(sb, e.GetString()!); break;
            case JsonValueKind.Number: sb.Append(NormalizeNumber(e.GetRawText())); break;
            case JsonValueKind.True: sb.Append("true"); break;
            case JsonValueKind.False: sb.Append("false"); break;
            default: sb.Append("null"); break;
        }
    }

    private static string Sanitize(string s) => s.Replace('\0', '\uFFFD');

    // The members of an object ordered by name (ordinal), the last of duplicate names kept. Usually the names are
    // sorted and distinct already (canonical input), which is checked in one pass without sorting.
    private static List<KeyValuePair<string, JsonElement>> SortedMembers(JsonElement e)
    {
        var props = new List<KeyValuePair<string, JsonElement>>();
        foreach (var p in e.EnumerateObject()) props.Add(new(Sanitize(p.Name), p.Value));
        var ordered = true;
        for (var i = 1; i < props.Count && ordered; i++) ordered = string.CompareOrdinal(props[i - 1].Key, props[i].Key) < 0;
        if (ordered) return props;
        // Stable: equal names keep their document order, so the last one is last in its run.
        var sorted = props.Select((p, i) => (p, i)).OrderBy(x => x.p.Key, StringComparer.Ordinal).ThenBy(x => x.i).Select(x => x.p).ToList();
        var result = new List<KeyValuePair<string, JsonElement>>(sorted.Count);
        for (var i = 0; i < sorted.Count; i++)
            if (i + 1 == sorted.Count || sorted[i + 1].Key != sorted[i].Key) result.Add(sorted[i]);
        return result;
    }

    /// <summary>
    /// A JSON number in PostgreSQL numeric output form: plain decimal notation, scale = fraction digits minus
    /// exponent (at least 0), no leading zeros, no sign on zero.
    /// </summary>
    internal static string NormalizeNumber(string raw)
    {
        var i = 0;
        var negative = raw[0] == '-';
        if (negative) i++;
        var intStart = i;
        while (i < raw.Length && char.IsAsciiDigit(raw[i])) i++;
        var intDigits = raw[intStart..i];
        var fracDigits = "";
        if (i < raw.Length && raw[i] == '.')
        {
            var fs = ++i;
            while (i < raw.Length && char.IsAsciiDigit(raw[i])) i++;
            fracDigits = raw[fs..i];
        }
        var exponent = 0;
        if (i < raw.Length && (raw[i] == 'e' || raw[i] == 'E'))
        {
            i++;
            if (!int.TryParse(raw.AsSpan(i), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out exponent)
                || Math.Abs(exponent) > MaxExponent)
                throw new FormatException($"JSON number exponent out of range: {raw}");
        }
        // digits = all significant digits; the decimal point sits after (intDigits.Length + exponent) of them.
        var digits = intDigits + fracDigits;
        var point = intDigits.Length + exponent;
        var scale = Math.Max(0, fracDigits.Length - exponent);
        string intPart, fracPart;
        if (point <= 0)
        {
            intPart = "0";
            fracPart = new string('0', -point) + digits;
        }
        else if (point >= digits.Length)
        {
            intPart = digits + new string('0', point - digits.Length);
            fracPart = "";
        }
        else
        {
            intPart = digits[..point];
            fracPart = digits[point..];
        }
        fracPart = fracPart.Length >= scale ? fracPart[..scale] : fracPart + new string('0', scale - fracPart.Length);
        intPart = intPart.TrimStart('0');
        if (intPart.Length == 0) intPart = "0";
        var isZero = intPart == "0" && fracPart.All(ch => ch == '0');
        var sb = new StringBuilder();
        if (negative && !isZero) sb.Append('-');
        sb.Append(intPart);
        if (fracPart.Length > 0) sb.Append('.').Append(fracPart);
        return sb.ToString();
    }
}
