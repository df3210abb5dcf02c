using Pdp.Rego.Values;

namespace Pdp.Rego.Tests.Builtins;

/// <summary>Randomised (fixed-seed) round trips: json.marshal/json.unmarshal and yaml.marshal/yaml.unmarshal give
/// back the value, for awkward strings (YAML keywords, numbers as text, quotes, newlines, unicode) too.</summary>
public sealed class MoreRoundTripTests : MoreBuiltinTestBase
{
    private static readonly string[] Strings =
    [
        "", "a", "true", "no", "null", "~", "1", "1.5", "0x1F", "-", "- x", "a: b", "#c", "'q'", "\"dq\"", "line\nbreak",
        " lead", "trail ", "tab\there", "ünï©ødé", "😀", "<&>", "{x}", "[y]", "*a", "&b", "!t", "%p", "@a", "`b", "a,b", ".5", "+1", "1e3", "Yes", "OFF", "y",
    ];

    private static Value RandomValue(Random r, int depth)
    {
        int k = depth > 3 ? r.Next(4) : r.Next(7);
        switch (k)
        {
            case 0: return Value.Null;
            case 1: return Value.Bool(r.Next(2) == 0);
            case 2: return r.Next(3) == 0 ? NumberValue.FromDouble(Math.Round(r.NextDouble() * 1000, 3) + 0.5) : NumberValue.FromInt64(r.NextInt64(-1_000_000_000_000, 1_000_000_000_000));
            case 3: return new StringValue(Strings[r.Next(Strings.Length)]);
            case 4: return new ArrayValue(Enumerable.Range(0, r.Next(4)).Select(_ => RandomValue(r, depth + 1)).ToArray());
            default:
            {
                var b = new ObjectValue.Builder();
                foreach (var key in Strings.OrderBy(_ => r.Next()).Take(r.Next(4))) b.Set(key, RandomValue(r, depth + 1));
                return b.Build();
            }
        }
    }

    [Test]
    public void JsonAndYamlRoundTrip()
    {
        var r = new Random(20261125);
        for (int i = 0; i < 300; i++)
        {
            var v = RandomValue(r, 0);
            var json = Call("json.marshal", v.ToJson())!;
            Assert.That(Call("json.unmarshal", json.ToJson()), Is.EqualTo(v), $"json: {json}");
            var yaml = Call("yaml.marshal", v.ToJson())!;
            Assert.That(Call("yaml.unmarshal", yaml.ToJson()), Is.EqualTo(v), $"yaml: {yaml}");
        }
    }
}
