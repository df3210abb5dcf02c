using Pdp.Rego.Builtins;
using Pdp.Rego.Values;

namespace Pdp.Rego.Tests.Builtins;

/// <summary>Each "more" built-in, fed every combination of awkward operands, returns a value, is undefined, or
/// raises a <see cref="BuiltinException"/> naming itself: never any other exception.</summary>
public sealed class MoreRobustnessTests : MoreBuiltinTestBase
{
    private static readonly string[] Names =
    [
        "regex.match", "regex.is_valid", "regex.find_n", "regex.find_all_string_submatch_n", "regex.split", "regex.replace",
        "regex.template_match", "regex.globs_match", "glob.match", "glob.quote_meta", "time.now_ns", "time.parse_rfc3339_ns", "time.parse_ns",
        "time.parse_duration_ns", "time.date", "time.clock", "time.weekday", "time.add_date", "time.diff", "time.format",
        "net.cidr_contains", "net.cidr_intersects", "net.cidr_is_valid", "net.cidr_expand", "net.cidr_contains_matches",
        "net.cidr_merge", "base64.encode", "base64.decode", "base64.is_valid", "base64url.encode", "base64url.encode_no_pad",
        "base64url.decode", "hex.encode", "hex.decode", "urlquery.encode", "urlquery.decode", "urlquery.encode_object",
        "urlquery.decode_object", "json.marshal", "json.marshal_with_options", "json.unmarshal", "json.is_valid",
        "yaml.marshal", "yaml.unmarshal", "yaml.is_valid", "json.filter", "json.remove", "json.patch", "uuid.rfc4122",
        "uuid.parse", "semver.compare", "semver.is_valid", "graph.reachable", "graph.reachable_paths", "crypto.md5",
        "crypto.sha1", "crypto.sha256", "crypto.hmac.md5", "crypto.hmac.sha1", "crypto.hmac.sha256", "crypto.hmac.sha512",
        "crypto.hmac.equal", "rand.intn", "json.verify_schema", "json.match_schema",
    ];

    private static readonly Value[] Samples =
    [
        Value.Null, Value.False, NumberValue.FromInt64(-3), NumberValue.FromDouble(2.5),
        NumberValue.Parse("123456789012345678901234567890"), NumberValue.FromInt64(long.MinValue),
        StringValue.Empty, new StringValue("a(%[😀\\"), new StringValue("10.0.0.0/30"), new StringValue("2020-01-01T00:00:00Z"),
        Value.FromJson("[\"a/b\", [\"c\", 0], 1]"), Value.FromJson("[{\"op\": \"add\", \"path\": \"/x\", \"value\": 1}, {\"op\": 5}]"),
        Value.FromJson("{\"a\": [\"b\"], \"b\": {\"c\": 1}, \"type\": \"nope\"}"), SetValue.Of([new StringValue("x"), NumberValue.One]),
    ];

    [Test]
    public void EveryOperandCombinationReturnsOrRaisesABuiltinError()
    {
        BuiltinRobustness.AssertEveryCombinationReturnsOrRaises(Names, Samples, NewContext);
    }
}
