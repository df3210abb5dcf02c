using System.Globalization;
using Pdp.Rego.Values;
using YamlDotNet.RepresentationModel;

namespace Pdp.Rego.Tests.Conformance;

/// <summary>One OPA conformance case, read from a YAML file of <c>../shared/opa-conformance/v1/&lt;folder&gt;</c>.</summary>
public sealed record ConformanceCase
{
    public required string Folder { get; init; }
    public required string File { get; init; }
    public required string Note { get; init; }
    public required IReadOnlyList<string> Modules { get; init; }
    public Value? Data { get; init; }
    public Value? Input { get; init; }
    public string? InputTerm { get; init; }
    public required string Query { get; init; }
    /// <summary>Expected binding sets; null when the case expects an error.</summary>
    public IReadOnlyList<Value>? WantResult { get; init; }
    public bool SortBindings { get; init; }
    public string? WantErrorCode { get; init; }
    public string? WantError { get; init; }
    public bool StrictError { get; init; }
    public bool Skip { get; init; }

    public override string ToString() => Note;

    /// <summary>Reads every case of one YAML file. Scalars keep their YAML types (quoted → string).</summary>
    public static IEnumerable<ConformanceCase> Load(string folder, string path)
    {
        var stream = new YamlStream();
        using (var reader = new StreamReader(path)) stream.Load(reader);
        foreach (var doc in stream.Documents)
        {
            if (doc.RootNode is not YamlMappingNode root) continue;
            if (!root.Children.TryGetValue(new YamlScalarNode("cases"), out var casesNode) || casesNode is not YamlSequenceNode cases) continue;
            foreach (var node in cases.Children.OfType<YamlMappingNode>())
            {
                string? Str(string key) => node.Children.TryGetValue(new YamlScalarNode(key), out var n) && n is YamlScalarNode s ? s.Value : null;
                YamlNode? Node(string key) => node.Children.TryGetValue(new YamlScalarNode(key), out var n) ? n : null;
                bool Flag(string key) => Str(key) is { } v && v != "false" && v != "";
                var modules = Node("modules") is YamlSequenceNode ms ? ms.Children.OfType<YamlScalarNode>().Select(m => m.Value ?? "").ToList() : [];
                var want = Node("want_result") is YamlSequenceNode wr ? wr.Children.Select(ToValue).ToList() : null;
                yield return new ConformanceCase
                {
                    Folder = folder,
                    File = Path.GetFileName(path),
                    Note = Str("note") ?? "(no note)",
                    Modules = modules,
                    Data = Node("data") is { } d ? ToValue(d) : null,
                    Input = Node("input") is { } i ? ToValue(i) : null,
                    InputTerm = Str("input_term"),
                    Query = Str("query") ?? "",
                    WantResult = want,
                    SortBindings = Flag("sort_bindings"),
                    WantErrorCode = Str("want_error_code"),
                    WantError = Str("want_error"),
                    StrictError = Flag("strict_error"),
                    Skip = Flag("skip"),
                };
            }
        }
    }

    /// <summary>YAML node → Rego value: plain scalars are typed as YAML 1.2 core (null, bool, number), quoted ones are strings.</summary>
    public static Value ToValue(YamlNode node)
    {
        switch (node)
        {
            case YamlSequenceNode seq:
                return new ArrayValue(seq.Children.Select(ToValue).ToArray());
            case YamlMappingNode map:
            {
                var b = new ObjectValue.Builder(map.Children.Count);
                foreach (var (k, v) in map.Children) b.Set(ToValue(k) is StringValue s ? s : new StringValue(((YamlScalarNode)k).Value ?? ""), ToValue(v));
                return b.Build();
            }
            case YamlScalarNode scalar:
            {
                var text = scalar.Value ?? "";
                if (scalar.Style is YamlDotNet.Core.ScalarStyle.SingleQuoted or YamlDotNet.Core.ScalarStyle.DoubleQuoted
                    or YamlDotNet.Core.ScalarStyle.Literal or YamlDotNet.Core.ScalarStyle.Folded)
                    return new StringValue(text);
                switch (text)
                {
                    case "" or "~" or "null" or "Null" or "NULL": return Value.Null;
                    case "true" or "True" or "TRUE": return Value.True;
                    case "false" or "False" or "FALSE": return Value.False;
                }
                if (LooksNumeric(text) && NumberValue.TryParse(text, out var n)) return n;
                return new StringValue(text);
            }
            default:
                return Value.Null;
        }
    }

    private static bool LooksNumeric(string s)
    {
        if (s.Length == 0) return false;
        int i = s[0] is '-' or '+' ? 1 : 0;
        return i < s.Length && (char.IsAsciiDigit(s[i]) || (s[i] == '.' && i + 1 < s.Length && char.IsAsciiDigit(s[i + 1])))
            && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out _);
    }
}
