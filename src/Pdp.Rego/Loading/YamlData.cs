using System.Globalization;
using System.Numerics;
using System.Text.RegularExpressions;
using Pdp.Rego.Values;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Pdp.Rego.Loading;

/// <summary>
/// Converts a YAML data file to a Rego value the way OPA does (YAML → JSON → value): mappings become objects with
/// string keys, sequences arrays, and plain scalars are resolved with YAML 1.1 rules as OPA's YAML library does
/// (<c>true</c>/<c>yes</c>/<c>on</c> → true, <c>null</c>/<c>~</c>/empty → null, integers in decimal, hex
/// <c>0x</c>, octal <c>0o</c> or leading <c>0</c>, floats); quoted and block scalars, and scalars tagged
/// <c>!!str</c>, stay strings.
/// </summary>
internal static partial class YamlData
{
    /// <summary>Parses <paramref name="text"/>. An empty document is an empty object. Throws
    /// <see cref="FormatException"/> with a line/column on malformed YAML, several documents, or too deep nesting.</summary>
    public static Value Parse(string text, int maxDepth)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            // YamlDotNet's messages start with "(Line: x, Col: y, ...)"; keep them, they locate the problem.
            throw new FormatException($"invalid YAML at line {e.Start.Line}, column {e.Start.Column}: {Inner(e)}");
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            throw new FormatException($"invalid YAML: {e.Message}");
        }
        if (stream.Documents.Count == 0) return ObjectValue.Empty;
        if (stream.Documents.Count > 1) throw new FormatException($"a data file must hold one YAML document, found {stream.Documents.Count}");
        return Convert(stream.Documents[0].RootNode, 0, maxDepth);
    }

    private static string Inner(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        return e.Message;
    }

    private static Value Convert(YamlNode node, int depth, int maxDepth)
    {
        if (depth > maxDepth) throw new FormatException($"YAML nesting deeper than {maxDepth} levels at line {node.Start.Line}");
        switch (node)
        {
            case YamlMappingNode map:
            {
                var b = new ObjectValue.Builder(map.Children.Count);
                var seen = new HashSet<string>(StringComparer.Ordinal);
                foreach (var (k, v) in map.Children)
                {
                    var key = KeyText(k);
                    if (!seen.Add(key)) throw new FormatException($"duplicate key \"{key}\" at line {k.Start.Line}, column {k.Start.Column}");
                    b.Set(key, Convert(v, depth + 1, maxDepth));
                }
                return b.Build();
            }
            case YamlSequenceNode seq:
                return new ArrayValue(seq.Children.Select(c => Convert(c, depth + 1, maxDepth)).ToArray());
            case YamlScalarNode scalar:
                return Scalar(scalar);
            default:
                throw new FormatException($"unsupported YAML node at line {node.Start.Line}");
        }
    }

    // JSON object keys are strings: a scalar key is used as written; a composite key is refused.
    private static string KeyText(YamlNode key) => key switch
    {
        YamlScalarNode s => s.Value ?? "",
        _ => throw new FormatException($"a mapping key must be a scalar (line {key.Start.Line}, column {key.Start.Column})"),
    };

    private static Value Scalar(YamlScalarNode s)
    {
        var text = s.Value ?? "";
        if (s.Style != ScalarStyle.Plain || !s.Tag.IsEmpty && s.Tag.Value is "tag:yaml.org,2002:str" or "!!str") return new StringValue(text);
        switch (text)
        {
            case "" or "~" or "null" or "Null" or "NULL": return Value.Null;
            case "true" or "True" or "TRUE" or "yes" or "Yes" or "YES" or "y" or "Y" or "on" or "On" or "ON": return Value.True;
            case "false" or "False" or "FALSE" or "no" or "No" or "NO" or "n" or "N" or "off" or "Off" or "OFF": return Value.False;
        }
        return (Value?)TryNumber(text) ?? new StringValue(text);
    }

    private static NumberValue? TryNumber(string text)
    {
        var t = text.Replace("_", "");
        if (t.Length == 0) return null;
        bool negative = t[0] == '-';
        var body = t[0] is '-' or '+' ? t[1..] : t;
        if (body.Length == 0) return null;

        BigInteger? integer = null;
        if (body.StartsWith("0x", StringComparison.Ordinal) && HexDigits().IsMatch(body[2..]))
            integer = BigInteger.Parse("0" + body[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        else if (body.StartsWith("0o", StringComparison.Ordinal) && OctalDigits().IsMatch(body[2..]))
            integer = ParseRadix(body[2..], 8);
        else if (body.StartsWith("0b", StringComparison.Ordinal) && BinaryDigits().IsMatch(body[2..]))
            integer = ParseRadix(body[2..], 2);
        else if (body.Length > 1 && body[0] == '0' && OctalDigits().IsMatch(body[1..]))
            integer = ParseRadix(body[1..], 8); // YAML 1.1 octal, as OPA reads "0755"
        else if (DecimalDigits().IsMatch(body))
            integer = BigInteger.Parse(body, CultureInfo.InvariantCulture);
        if (integer is { } i) return NumberValue.FromBigInteger(negative ? -i : i);

        if (!FloatSyntax().IsMatch(body)) return null;
        // Normalize YAML float spellings (".5", "1.") to JSON number syntax before exact parsing.
        var json = body;
        if (json.StartsWith('.')) json = "0" + json;
        json = json.Replace(".e", ".0e").Replace(".E", ".0E");
        if (json.EndsWith('.')) json += "0";
        return NumberValue.TryParse((negative ? "-" : "") + json, out var n) ? n : null;
    }

    private static BigInteger ParseRadix(string digits, int radix)
    {
        BigInteger v = BigInteger.Zero;
        foreach (var c in digits) v = v * radix + (c - '0');
        return v;
    }

    [GeneratedRegex("^[0-9a-fA-F]+$")] private static partial Regex HexDigits();
    [GeneratedRegex("^[0-7]+$")] private static partial Regex OctalDigits();
    [GeneratedRegex("^[01]+$")] private static partial Regex BinaryDigits();
    [GeneratedRegex("^[0-9]+$")] private static partial Regex DecimalDigits();
    [GeneratedRegex(@"^(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")] private static partial Regex FloatSyntax();
}
