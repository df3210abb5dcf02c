using System.Globalization;
using System.Text;
using Pdp.Rego.Values;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Pdp.Rego.Builtins;

/// <summary>
/// Encoding built-ins: <c>base64.*</c>, <c>base64url.*</c>, <c>hex.*</c>, <c>urlquery.*</c>, <c>json.marshal*</c>,
/// <c>json.unmarshal</c>, <c>json.is_valid</c>, <c>yaml.*</c>. Strings are UTF-8 on the wire (decoded bytes that
/// are not valid UTF-8 become U+FFFD). JSON output matches Go's <c>encoding/json</c> (compact, <c>&lt; &gt; &amp;</c>
/// escaped, sets as sorted arrays, object keys sorted).
/// </summary>
public static class EncodingBuiltins
{
    /// <summary>Registers the encoding built-ins.</summary>
    public static void Register(BuiltinRegistry.Builder b)
    {
        b.Add("base64.encode", 1, (c, a) => new StringValue(Convert.ToBase64String(Utf8(Operands.Str("base64.encode", a, 0)))), [BuiltinType.String]);
        b.Add("base64.decode", 1, Base64Decode, [BuiltinType.String]);
        b.Add("base64.is_valid", 1, (c, a) => Value.Bool(TryBase64(Operands.Str("base64.is_valid", a, 0), url: false, padded: true, out _)), [BuiltinType.String]);
        b.Add("base64url.encode", 1, (c, a) => new StringValue(ToBase64Url(Utf8(Operands.Str("base64url.encode", a, 0)), pad: true)), [BuiltinType.String]);
        b.Add("base64url.encode_no_pad", 1, (c, a) => new StringValue(ToBase64Url(Utf8(Operands.Str("base64url.encode_no_pad", a, 0)), pad: false)), [BuiltinType.String]);
        b.Add("base64url.decode", 1, Base64UrlDecode, [BuiltinType.String]);
        b.Add("hex.encode", 1, (c, a) => new StringValue(Convert.ToHexStringLower(Utf8(Operands.Str("hex.encode", a, 0)))), [BuiltinType.String]);
        b.Add("hex.decode", 1, HexDecode, [BuiltinType.String]);
        b.Add("urlquery.encode", 1, (c, a) => new StringValue(QueryEscape(Operands.Str("urlquery.encode", a, 0))), [BuiltinType.String]);
        b.Add("urlquery.decode", 1, (c, a) => new StringValue(QueryUnescape("urlquery.decode", Operands.Str("urlquery.decode", a, 0))), [BuiltinType.String]);
        b.Add("urlquery.encode_object", 1, EncodeObject, [BuiltinType.Object]);
        b.Add("urlquery.decode_object", 1, DecodeObject, [BuiltinType.String]);
        b.Add("json.marshal", 1, (c, a) => new StringValue(GoJson.Marshal(a[0])), [BuiltinType.Any]);
        b.Add("json.marshal_with_options", 2, MarshalWithOptions, [BuiltinType.Any, BuiltinType.Object]);
        b.Add("json.unmarshal", 1, JsonUnmarshal, [BuiltinType.String]);
        b.Add("json.is_valid", 1, (c, a) => Value.Bool(a[0] is StringValue s && TryJson(s.Value, out _)), [BuiltinType.Any]);
        b.Add("yaml.marshal", 1, (c, a) => new StringValue(Yaml.Marshal(a[0])), [BuiltinType.Any]);
        b.Add("yaml.unmarshal", 1, YamlUnmarshal, [BuiltinType.String]);
        b.Add("yaml.is_valid", 1, (c, a) => Value.Bool(a[0] is StringValue s && Yaml.TryParse(s.Value, out _, out _)), [BuiltinType.Any]);
    }

    private static readonly UTF8Encoding Utf8Lenient = new(false, false);

    private static byte[] Utf8(string s) => Utf8Lenient.GetBytes(s);
    private static string FromUtf8(byte[] b) => Utf8Lenient.GetString(b);

    // ------------------------------------------------------------------ base64 and hex

    private static Value Base64Decode(BuiltinContext ctx, ReadOnlySpan<Value> args)
    {
        var s = Operands.Str("base64.decode", args, 0);
        if (!TryBase64(s, url: false, padded: true, out var bytes)) throw BuiltinException.Error("base64.decode", $"illegal base64 data at input byte {BadIndex(s)}");
        return new StringValue(FromUtf8(bytes));
    }

    private static Value Base64UrlDecode(BuiltinContext ctx, ReadOnlySpan<Value> args)
    {
        // OPA accepts the URL alphabet with or without padding.
        var s = Operands.Str("base64url.decode", args, 0);
        if (!TryBase64(s, url: true, padded: s.Length % 4 == 0 && s.EndsWith('='), out var bytes) && !TryBase64(s, url: true, padded: false, out bytes))
            throw BuiltinException.Error("base64url.decode", $"illegal base64 data at input byte {BadIndex(s)}");
        return new StringValue(FromUtf8(bytes));
    }

    private static int BadIndex(string s)
    {
        for (int i = 0; i < s.Length; i++)
            if (!(char.IsAsciiLetterOrDigit(s[i]) || s[i] is '+' or '/' or '-' or '_')) return i;
        return s.Length - s.Length % 4;
    }

    /// <summary>Strict base64 as Go's encodings: <paramref name="padded"/> requires '=' padding to a multiple of
    /// 4, else no padding is allowed; no whitespace except CR/LF (which Go ignores).</summary>
    internal static bool TryBase64(string s, bool url, bool padded, out byte[] bytes)
    {
        bytes = [];
        var clean = s.Contains('\n') || s.Contains('\r') ? s.Replace("\r", "").Replace("\n", "") : s;
        foreach (var c in clean)
        {
            if (char.IsAsciiLetterOrDigit(c) || c == '=') continue;
            if (url ? c is '-' or '_' : c is '+' or '/') continue;
            return false;
        }
        if (padded)
        {
            if (clean.Length % 4 != 0) return false;
        }
        else
        {
            if (clean.Contains('=') || clean.Length % 4 == 1) return false;
            clean += new string('=', (4 - clean.Length % 4) % 4);
        }
        int firstPad = clean.IndexOf('=');
        if (firstPad >= 0 && (firstPad < clean.Length - 2 || clean.AsSpan(firstPad).ContainsAnyExcept('='))) return false;
        if (url) clean = clean.Replace('-', '+').Replace('_', '/');
        var buffer = new byte[clean.Length / 4 * 3];
        if (!Convert.TryFromBase64String(clean, buffer, out var written)) return false;
        bytes = buffer[..written];
        return true;
    }

    private static string ToBase64Url(byte[] bytes, bool pad)
    {
        var s = Convert.ToBase64String(bytes).Replace('+', '-').Replace('/', '_');
        return pad ? s : s.TrimEnd('=');
    }

    private static Value HexDecode(BuiltinContext ctx, ReadOnlySpan<Value> args)
    {
        var s = Operands.Str("hex.decode", args, 0);
        // Go reports the first invalid byte before an odd length.
        foreach (var c in s)
            if (!char.IsAsciiHexDigit(c)) throw BuiltinException.Error("hex.decode", $"encoding/hex: invalid byte: U+{(int)c:X4} {QuoteRune(c)}");
        if (s.Length % 2 != 0) throw BuiltinException.Error("hex.decode", "encoding/hex: odd length hex string");
        return new StringValue(FromUtf8(Convert.FromHexString(s)));
    }

    private static string QuoteRune(char c) => c switch
    {
        '\'' => @"'\''",
        '\\' => @"'\\'",
        '\n' => @"'\n'",
        '\t' => @"'\t'",
        '\r' => @"'\r'",
        _ when c < 0x20 => $"'\\x{(int)c:x2}'",
        _ => $"'{c}'",
    };

    // ------------------------------------------------------------------ URL query

    /// <summary>Go's <c>url.QueryEscape</c>: unreserved characters kept, space as '+', the rest %XX (UTF-8).</summary>
    internal static string QueryEscape(string s)
    {
        var sb = new StringBuilder(s.Length + 8);
        foreach (var b in Utf8(s))
        {
            char c = (char)b;
            if (char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '~') sb.Append(c);
            else if (c == ' ') sb.Append('+');
            else sb.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }

    /// <summary>Go's <c>url.QueryUnescape</c>: '+' is space, %XX a byte; a bad escape is an error.</summary>
    internal static string QueryUnescape(string builtin, string s)
    {
        var bytes = new List<byte>(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (c == '%')
            {
                if (i + 2 >= s.Length || !char.IsAsciiHexDigit(s[i + 1]) || !char.IsAsciiHexDigit(s[i + 2]))
                {
                    var bad = s.Substring(i, Math.Min(3, s.Length - i));
                    throw BuiltinException.Error(builtin, $"invalid URL escape {Value.JsonQuote(bad)}");
                }
                bytes.Add(Convert.ToByte(s.Substring(i + 1, 2), 16));
                i += 2;
            }
            else if (c == '+') bytes.Add((byte)' ');
            else bytes.AddRange(Utf8(c.ToString()));
        }
        return FromUtf8(bytes.ToArray());
    }

    private static Value EncodeObject(BuiltinContext ctx, ReadOnlySpan<Value> args)
    {
        const string name = "urlquery.encode_object";
        var obj = Operands.Obj(name, args, 0);
        var sb = new StringBuilder();
        // Object entries are already sorted by key, as Go's url.Values.Encode sorts.
        foreach (var kv in obj.Entries)
        {
            if (kv.Key is not StringValue k) throw BuiltinException.OperandType(name, 1, "object[string: any]", obj);
            var key = QueryEscape(k.Value);
            IEnumerable<Value> values = kv.Value switch
            {
                StringValue s => [s],
                ArrayValue a => a.Items,
                SetValue set => set.Items,
                _ => throw BuiltinException.Error(name, $"values must be string, array[string], or set[string]"),
            };
            foreach (var v in values)
            {
                if (v is not StringValue sv) throw BuiltinException.Error(name, $"values must be string, array[string], or set[string]");
                if (sb.Length > 0) sb.Append('&');
                sb.Append(key).Append('=').Append(QueryEscape(sv.Value));
            }
        }
        return new StringValue(sb.ToString());
    }

    private static Value DecodeObject(BuiltinContext ctx, ReadOnlySpan<Value> args)
    {
        const string name = "urlquery.decode_object";
        var s = Operands.Str(name, args, 0);
        var map = new Dictionary<string, List<Value>>(StringComparer.Ordinal);
        foreach (var part in s.Split('&'))
        {
            if (part.Length == 0) continue;
            if (part.Contains(';')) throw BuiltinException.Error(name, "invalid semicolon separator in query");
            int eq = part.IndexOf('=');
            var key = QueryUnescape(name, eq < 0 ? part : part[..eq]);
            var value = eq < 0 ? "" : QueryUnescape(name, part[(eq + 1)..]);
            if (!map.TryGetValue(key, out var list)) map[key] = list = [];
            list.Add(new StringValue(value));
        }
        var b = new ObjectValue.Builder(map.Count);
        foreach (var (k, v) in map) b.Set(k, new ArrayValue(v.ToArray()));
        return b.Build();
    }

    // ------------------------------------------------------------------ JSON

    private static Value MarshalWithOptions(BuiltinContext ctx, ReadOnlySpan<Value> args)
    {
        const string name = "json.marshal_with_options";
        var opts = Operands.Obj(name, args, 1);
        bool? pretty = null;
        string prefix = "", indent = "\t";
        bool explicitFormat = false;
        foreach (var kv in opts.Entries)
        {
            var key = kv.Key is StringValue ks ? ks.Value : kv.Key.ToString();
            switch (key)
            {
                case "pretty":
                    pretty = kv.Value is BooleanValue bv ? bv.Value : throw BuiltinException.Error(name, $"pretty option must be a boolean but got {kv.Value.TypeName}");
                    break;
                case "prefix":
                    prefix = kv.Value is StringValue p ? p.Value : throw BuiltinException.Error(name, $"prefix option must be a string but got {kv.Value.TypeName}");
                    explicitFormat = true;
                    break;
                case "indent":
                    indent = kv.Value is StringValue i ? i.Value : throw BuiltinException.Error(name, $"indent option must be a string but got {kv.Value.TypeName}");
                    explicitFormat = true;
                    break;
                default:
                    throw BuiltinException.Error(name, $"object contained unknown key {kv.Key}");
            }
        }
        // Prefix or indent without "pretty" implies pretty output; pretty: false forces compact output.
        bool doPretty = pretty ?? explicitFormat;
        return new StringValue(doPretty ? GoJson.MarshalIndent(args[0], prefix, indent) : GoJson.Marshal(args[0]));
    }

    private static Value JsonUnmarshal(BuiltinContext ctx, ReadOnlySpan<Value> args)
    {
        const string name = "json.unmarshal";
        var s = Operands.Str(name, args, 0);
        if (!TryJson(s, out var v, out var error)) throw BuiltinException.Error(name, error!);
        return v!;
    }

    private static bool TryJson(string s, out Value? value) => TryJson(s, out value, out _);

    private static bool TryJson(string s, out Value? value, out string? error)
    {
        value = null;
        error = null;
        try
        {
            // Go's decoder rejects comments; trailing whitespace is fine.
            if (s.Contains("//") || s.Contains("/*"))
            {
                var doc = System.Text.Json.JsonDocument.Parse(s);
                doc.Dispose();
            }
            value = Value.FromJson(s);
            return true;
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or FormatException or InvalidOperationException or ArgumentException)
        {
            error = e.Message;
            return false;
        }
    }

    // ------------------------------------------------------------------ YAML

    private static Value YamlUnmarshal(BuiltinContext ctx, ReadOnlySpan<Value> args)
    {
        const string name = "yaml.unmarshal";
        var s = Operands.Str(name, args, 0);
        if (!Yaml.TryParse(s, out var v, out var error)) throw BuiltinException.Error(name, error!);
        return v!;
    }
}

/// <summary>JSON text as Go's <c>encoding/json</c> writes it (OPA's <c>json.marshal</c>).</summary>
internal static class GoJson
{
    private const int MaxDepth = 10_000;

    /// <summary>Compact JSON.</summary>
    public static string Marshal(Value v)
    {
        var sb = new StringBuilder();
        Write(sb, v, null, null, 0);
        return sb.ToString();
    }

    /// <summary>Go's <c>json.MarshalIndent(v, prefix, indent)</c>.</summary>
    public static string MarshalIndent(Value v, string prefix, string indent)
    {
        var sb = new StringBuilder();
        Write(sb, v, prefix, indent, 0);
        return sb.ToString();
    }

    private static void NewLine(StringBuilder sb, string prefix, string indent, int depth)
    {
        sb.Append('\n').Append(prefix);
        for (int i = 0; i < depth; i++) sb.Append(indent);
    }

    private static void Write(StringBuilder sb, Value v, string? prefix, string? indent, int depth)
    {
        if (depth > MaxDepth) throw BuiltinException.Error("json.marshal", "value nested too deeply");
        bool pretty = indent is not null;
        switch (v)
        {
            case StringValue s: Quote(sb, s.Value); break;
            case ArrayValue or SetValue:
            {
                var items = v is ArrayValue a ? a.Items : ((SetValue)v).Items;
                if (items.Count == 0) { sb.Append("[]"); break; }
                sb.Append('[');
                for (int i = 0; i < items.Count; i++)
                {
                    if (i > 0) sb.Append(',');
                    if (pretty) NewLine(sb, prefix!, indent!, depth + 1);
                    Write(sb, items[i], prefix, indent, depth + 1);
                }
                if (pretty) NewLine(sb, prefix!, indent!, depth);
                sb.Append(']');
                break;
            }
            case ObjectValue o:
            {
                if (o.Count == 0) { sb.Append("{}"); break; }
                // Non-string keys become their JSON text, then entries are ordered by that text as Go sorts map keys.
                var entries = o.Entries.ToArray()
                    .Select(kv => (Key: kv.Key is StringValue ks ? ks.Value : Marshal(kv.Key), kv.Value))
                    .OrderBy(e => e.Key, StringComparer.Ordinal).ToArray();
                sb.Append('{');
                for (int i = 0; i < entries.Length; i++)
                {
                    if (i > 0) sb.Append(',');
                    if (pretty) NewLine(sb, prefix!, indent!, depth + 1);
                    Quote(sb, entries[i].Key);
                    sb.Append(pretty ? ": " : ":");
                    Write(sb, entries[i].Value, prefix, indent, depth + 1);
                }
                if (pretty) NewLine(sb, prefix!, indent!, depth);
                sb.Append('}');
                break;
            }
            default: v.AppendRego(sb); break; // null, booleans, numbers: same text in Rego and JSON
        }
    }

    /// <summary>A JSON string with Go's escaping: <c>&lt; &gt; &amp;</c> U+2028 U+2029 as \u, control characters as
    /// \n \r \t or \u00XX.</summary>
    public static void Quote(StringBuilder sb, string s)
    {
        sb.Append('"');
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '<' or '>' or '&' or '\u2028' or '\u2029' or < ' ':
                    sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    break;
                default:
                    if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) { sb.Append(c).Append(s[++i]); break; }
                    // A lone surrogate has no UTF-8 form; Go would have replaced its bytes with U+FFFD.
                    sb.Append(char.IsSurrogate(c) ? '\uFFFD' : c);
                    break;
            }
        }
        sb.Append('"');
    }

}

/// <summary>YAML in and out, as OPA's <c>yaml.*</c> (sigs.k8s.io/yaml: YAML 1.1 scalars, map keys as strings,
/// output with sorted keys and block style).</summary>
internal static class Yaml
{
    private const int MaxNodes = 1_000_000;

    /// <summary>Parses YAML text; every document must be well-formed, the first one is the value (an empty
    /// stream is null). Aliases are expanded with a node budget against "billion laughs" documents.</summary>
    public static bool TryParse(string text, out Value? value, out string? error)
    {
        value = null;
        error = null;
        // go-yaml rejects a tab at the start of a line where a token should begin; YamlDotNet tolerates it.
        foreach (var line in text.Split('\n'))
        {
            if (line.Length > 0 && line[0] == '\t' && line.TrimStart().Length > 0 && line.TrimStart()[0] != '#')
            {
                error = "yaml: found character that cannot start any token";
                return false;
            }
        }
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(text));
            int budget = MaxNodes;
            value = stream.Documents.Count == 0 ? Value.Null : Convert(stream.Documents[0].RootNode, ref budget, 0);
            return true;
        }
        catch (YamlException e)
        {
            error = $"yaml: line {e.Start.Line}: {e.Message}";
            return false;
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or FormatException or OverflowException)
        {
            error = "yaml: " + e.Message;
            return false;
        }
    }

    private static Value Convert(YamlNode node, ref int budget, int depth)
    {
        if (--budget < 0 || depth > 10_000) throw new InvalidOperationException("document too large or too deeply nested");
        switch (node)
        {
            case YamlScalarNode s: return Scalar(s);
            case YamlSequenceNode seq:
            {
                var items = new Value[seq.Children.Count];
                for (int i = 0; i < items.Length; i++) items[i] = Convert(seq.Children[i], ref budget, depth + 1);
                return new ArrayValue(items);
            }
            case YamlMappingNode map:
            {
                var b = new ObjectValue.Builder(map.Children.Count);
                var seen = new Dictionary<string, int>(StringComparer.Ordinal);
                var pairs = new List<(string, Value)>();
                // Merge keys (<<: *base or <<: [*a, *b]) bring in entries the mapping does not set itself.
                var merged = new List<(string, Value)>();
                foreach (var kv in map.Children)
                {
                    if (kv.Key is YamlScalarNode { Value: "<<", Style: ScalarStyle.Plain or ScalarStyle.Any })
                    {
                        var sources = kv.Value is YamlSequenceNode seqOfMaps ? seqOfMaps.Children : [kv.Value];
                        foreach (var src in sources)
                        {
                            if (Convert(src, ref budget, depth + 1) is not ObjectValue mo) throw new InvalidOperationException("map merge requires map or sequence of maps as the value");
                            foreach (var e in mo.Entries) merged.Add((((StringValue)e.Key).Value, e.Value));
                        }
                        continue;
                    }
                    var key = Convert(kv.Key, ref budget, depth + 1);
                    // sigs.k8s.io/yaml turns every key into its string form.
                    var keyText = key switch { StringValue ks => ks.Value, NullValue => "null", _ => key is ArrayValue or ObjectValue or SetValue ? GoJson.Marshal(key) : key.ToString() };
                    var val = Convert(kv.Value, ref budget, depth + 1);
                    if (seen.TryGetValue(keyText, out var at)) pairs[at] = (keyText, val);
                    else { seen[keyText] = pairs.Count; pairs.Add((keyText, val)); }
                }
                foreach (var (k, v) in merged) if (!seen.ContainsKey(k)) { seen[k] = pairs.Count; pairs.Add((k, v)); }
                foreach (var (k, v) in pairs) b.Set(k, v);
                return b.Build();
            }
            default: throw new InvalidOperationException("unsupported YAML node");
        }
    }

    private static Value Scalar(YamlScalarNode s)
    {
        var text = s.Value ?? "";
        if (s.Style is ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted or ScalarStyle.Literal or ScalarStyle.Folded) return new StringValue(text);
        if (!s.Tag.IsEmpty && !s.Tag.IsNonSpecific && s.Tag.Value is "tag:yaml.org,2002:str") return new StringValue(text);
        switch (text)
        {
            case "" or "~" or "null" or "Null" or "NULL": return Value.Null;
            case "true" or "True" or "TRUE" or "yes" or "Yes" or "YES" or "on" or "On" or "ON" or "y" or "Y": return Value.True;
            case "false" or "False" or "FALSE" or "no" or "No" or "NO" or "off" or "Off" or "OFF" or "n" or "N": return Value.False;
        }
        var plain = text.Replace("_", "");
        if (plain.Length > 0 && (char.IsAsciiDigit(plain[0]) || ((plain[0] is '-' or '+' or '.') && plain.Length > 1)))
        {
            var unsigned = plain.TrimStart('+', '-');
            bool negative = plain.StartsWith('-');
            if (unsigned.StartsWith("0x", StringComparison.Ordinal) && long.TryParse(unsigned[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var hex))
                return NumberValue.FromInt64(negative ? -hex : hex);
            if (unsigned.StartsWith("0b", StringComparison.Ordinal) && unsigned.Length > 2 && unsigned[2..].All(c => c is '0' or '1'))
                return NumberValue.FromInt64(System.Convert.ToInt64(unsigned[2..], 2) * (negative ? -1 : 1));
            if (unsigned.Length > 1 && unsigned[0] == '0' && unsigned.All(char.IsAsciiDigit) && unsigned.All(c => c < '8'))
                return NumberValue.FromInt64(System.Convert.ToInt64(unsigned, 8) * (negative ? -1 : 1));
            if (NumberValue.TryParse(plain.StartsWith('+') ? plain[1..] : plain, out var n)) return n;
            if (plain.EndsWith('.') && NumberValue.TryParse(plain + "0", out n)) return n;
        }
        switch (text)
        {
            case ".inf" or ".Inf" or ".INF" or "+.inf" or "-.inf" or ".nan" or ".NaN" or ".NAN":
                throw new InvalidOperationException($"cannot represent {text} as a JSON number");
        }
        return new StringValue(text);
    }

    /// <summary>YAML for a value: block style, keys sorted, strings quoted when they would read back as something
    /// else.</summary>
    public static string Marshal(Value v)
    {
        var sb = new StringBuilder();
        WriteNode(sb, v, 0, inSequence: false, atLineStart: true);
        if (sb.Length == 0 || sb[^1] != '\n') sb.Append('\n');
        return sb.ToString();
    }

    private static void WriteNode(StringBuilder sb, Value v, int indent, bool inSequence, bool atLineStart)
    {
        if (indent > 20_000) throw BuiltinException.Error("yaml.marshal", "value nested too deeply");
        switch (v)
        {
            case ArrayValue or SetValue:
            {
                var items = v is ArrayValue a ? a.Items : ((SetValue)v).Items;
                if (items.Count == 0) { sb.Append("[]\n"); return; }
                bool first = true;
                foreach (var item in items)
                {
                    if (!(first && atLineStart)) sb.Append(' ', indent);
                    first = false;
                    sb.Append("- ");
                    WriteNode(sb, item, indent + 2, inSequence: true, atLineStart: true);
                }
                return;
            }
            case ObjectValue o:
            {
                if (o.Count == 0) { sb.Append("{}\n"); return; }
                bool first = true;
                var entries = o.Entries.ToArray()
                    .Select(kv => (Key: kv.Key is StringValue ks ? ks.Value : GoJson.Marshal(kv.Key), kv.Value))
                    .OrderBy(e => e.Key, StringComparer.Ordinal);
                foreach (var (key, value) in entries)
                {
                    if (!(first && atLineStart)) sb.Append(' ', indent);
                    first = false;
                    sb.Append(ScalarText(key)).Append(':');
                    if (value is ArrayValue { Count: > 0 } or SetValue { Count: > 0 })
                    {
                        sb.Append('\n');
                        sb.Append(' ', indent);
                        WriteNode(sb, value, indent, inSequence: false, atLineStart: true);
                    }
                    else if (value is ObjectValue { Count: > 0 })
                    {
                        sb.Append('\n');
                        sb.Append(' ', indent + 2);
                        WriteNode(sb, value, indent + 2, inSequence: false, atLineStart: true);
                    }
                    else
                    {
                        sb.Append(' ');
                        WriteNode(sb, value, indent + 2, inSequence: false, atLineStart: false);
                    }
                }
                return;
            }
            case StringValue s:
                sb.Append(ScalarText(s.Value)).Append('\n');
                return;
            default:
                v.AppendRego(sb);
                sb.Append('\n');
                return;
        }
    }

    private static string ScalarText(string s)
    {
        bool needsQuote = s.Length == 0
            || s.IndexOfAny([':', '#', '\n', '\r', '\t', '"', '\'', '{', '}', '[', ']', ',', '&', '*', '!', '|', '>', '%', '@', '`']) >= 0
            || char.IsWhiteSpace(s[0]) || char.IsWhiteSpace(s[^1]) || s[0] is '-' or '?' or '.' or '+' || char.IsAsciiDigit(s[0])
            || Scalar(new YamlScalarNode(s)) is not StringValue;
        if (!needsQuote) return s;
        var sb = new StringBuilder();
        GoJson.Quote(sb, s);
        return sb.ToString();
    }
}
