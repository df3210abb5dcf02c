using Pdp.DecisionLog;

namespace Pdp.Tests.DecisionLog;

/// <summary>Canonical JSON and the record hash, without a database.</summary>
public class CanonicalJsonTests
{
    // Expected values are PostgreSQL 15's own jsonb output for the same inputs.
    [TestCase("1e2", "100")]
    [TestCase("1.50e1", "15.0")]
    [TestCase("1E-3", "0.001")]
    [TestCase("-0", "0")]
    [TestCase("-0.0", "0.0")]
    [TestCase("0.00e5", "0")]
    [TestCase("123.456e-1", "12.3456")]
    [TestCase("1.5e-10", "0.00000000015")]
    [TestCase("100e-2", "1.00")]
    [TestCase("-12", "-12")]
    public void Numbers_take_postgres_numeric_form(string raw, string expected) =>
        Assert.That(CanonicalJson.NormalizeNumber(raw), Is.EqualTo(expected));

    [Test]
    public void Objects_sort_keys_and_drop_whitespace_and_last_duplicate_wins()
    {
        Assert.That(CanonicalJson.Canonicalize("""{ "b": [1, 2.0], "a": {"y": null, "x": true}, "b": "é\n" }"""),
            Is.EqualTo("{\"a\":{\"x\":true,\"y\":null},\"b\":\"é\\n\"}"));
    }

    [Test]
    public void Canonical_text_is_a_fixed_point_of_postgres_reformatting()
    {
        // jsonb prints ", " and ": " and orders keys by length; canonicalizing that output gives the same text.
        var canonical = CanonicalJson.Canonicalize("""{"bb": 1e1, "a": [0.10, "x"]}""");
        Assert.That(CanonicalJson.Canonicalize("""{"a": [0.10, "x"], "bb": 10}"""), Is.EqualTo(canonical));
    }

    [Test]
    public void Invalid_json_is_kept_as_a_json_string_and_nul_is_replaced()
    {
        Assert.That(CanonicalJson.Canonicalize("{not json"), Is.EqualTo("\"{not json\""));
        Assert.That(CanonicalJson.Canonicalize("""{"k": "a\u0000b"}"""), Is.EqualTo("{\"k\":\"a\uFFFDb\"}"));
        Assert.That(CanonicalJson.Canonicalize(null), Is.Null);
    }

    [Test]
    public void Hash_depends_on_every_input()
    {
        var r = DecisionChain.Normalize(TestRecords.Full("d-1"));
        var h = DecisionChain.ComputeHash(DecisionChain.GenesisHash, "w", 1, r);
        Assert.That(h, Does.Match("^[0-9a-f]{64}$"));
        Assert.That(DecisionChain.ComputeHash(DecisionChain.GenesisHash, "w", 1, r), Is.EqualTo(h));
        Assert.That(DecisionChain.ComputeHash(DecisionChain.GenesisHash, "w", 2, r), Is.Not.EqualTo(h));
        Assert.That(DecisionChain.ComputeHash(DecisionChain.GenesisHash, "w2", 1, r), Is.Not.EqualTo(h));
        Assert.That(DecisionChain.ComputeHash(h, "w", 1, r), Is.Not.EqualTo(h));
        Assert.That(DecisionChain.ComputeHash(DecisionChain.GenesisHash, "w", 1, r with { EvalMicros = 138 }), Is.Not.EqualTo(h));
        Assert.That(DecisionChain.ComputeHash(DecisionChain.GenesisHash, "w", 1, r with { Labels = ["secret"] }), Is.Not.EqualTo(h));
        // null and empty string must not collide
        Assert.That(DecisionChain.ComputeHash(DecisionChain.GenesisHash, "w", 1, r with { Server = "" }),
            Is.Not.EqualTo(DecisionChain.ComputeHash(DecisionChain.GenesisHash, "w", 1, r with { Server = null })));
    }

    [Test]
    public void Normalize_truncates_times_to_microseconds_and_rejects_missing_ids()
    {
        var t = new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.FromHours(2)).AddTicks(1234567);
        var r = DecisionChain.Normalize(TestRecords.Full("d-2", at: t));
        Assert.That(r.DecidedAt.Offset, Is.EqualTo(TimeSpan.Zero));
        Assert.That(r.DecidedAt.UtcTicks, Is.EqualTo(t.UtcTicks - 7));
        Assert.Throws<ArgumentException>(() => DecisionChain.Normalize(TestRecords.Full("") ));
    }

    // TryWrite writes node trees straight into canonical form; the text road (any JSON text, then Canonicalize)
    // must give the same text, or the hashes of Check-path records would not verify from the stored rows.
    [TestCase("""{"b": 1, "a": {"z": [1, 2.5, -0.0, 1e-7, 123456789012345678], "y": null}, "A": true}""")]
    [TestCase("""{"s": "tab\tnl\nquote\"back\\slash\u0001ctl\u007f é 💡", "e": "", "k\u0000": "nul\u0000"}""")]
    [TestCase("""[{"x": false}, [], {}, "str", 0, 3.14159, -2e3, 1.5E+300]""")]
    [TestCase("""{"deep": [[[[[{"a": [[["b"]]]}]]]]]}""")]
    public void Node_trees_are_written_exactly_as_their_text_is_canonicalized(string json)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(json);
        Assert.That(CanonicalJson.TryWrite(node, null, out var direct), Is.True);
        Assert.That(direct, Is.EqualTo(CanonicalJson.Canonicalize(json)));
        Assert.That(CanonicalJson.Canonicalize(direct), Is.EqualTo(direct), "a fixed point");
    }

    [Test]
    public void Node_trees_from_protobuf_values_match_the_text_road()
    {
        // Struct numbers are doubles; JsonUtil turns whole ones into integers and keeps the others as doubles.
        var s = new Google.Protobuf.WellKnownTypes.Struct();
        s.Fields["n"] = Google.Protobuf.WellKnownTypes.Value.ForNumber(1.5e-7);
        s.Fields["big"] = Google.Protobuf.WellKnownTypes.Value.ForNumber(1e21);
        s.Fields["i"] = Google.Protobuf.WellKnownTypes.Value.ForNumber(42);
        s.Fields["list"] = Google.Protobuf.WellKnownTypes.Value.ForList(Google.Protobuf.WellKnownTypes.Value.ForString("\u2028 x"), Google.Protobuf.WellKnownTypes.Value.ForNull());
        var node = Pdp.Service.JsonUtil.FromStruct(s);
        Assert.That(CanonicalJson.TryWrite(node, null, out var direct), Is.True);
        Assert.That(direct, Is.EqualTo(CanonicalJson.Canonicalize(Pdp.Service.JsonUtil.Canonical(node))));
        Assert.That(direct, Does.Contain("\"n\":0.00000015"));
    }

    [Test]
    public void Substitutions_replace_add_and_drop_members_and_limits_fall_back()
    {
        var doc = (System.Text.Json.Nodes.JsonObject)System.Text.Json.Nodes.JsonNode.Parse("""{"tool": {"arguments": {"p": "x"}}, "session": {"history": [1], "id": "s"}}""")!;
        var tool = (System.Text.Json.Nodes.JsonObject)doc["tool"]!;
        var session = (System.Text.Json.Nodes.JsonObject)doc["session"]!;
        var subs = new Dictionary<(System.Text.Json.Nodes.JsonObject, string), string?>
        {
            [(tool, "arguments")] = "{\"p\":\"string(1)\"}",
            [(session, "history")] = null,
            [(session, "history_count")] = "1",
        };
        Assert.That(CanonicalJson.TryWrite(doc, subs, out var text), Is.True);
        Assert.That(text, Is.EqualTo("{\"session\":{\"history_count\":1,\"id\":\"s\"},\"tool\":{\"arguments\":{\"p\":\"string(1)\"}}}"));

        // Deeper than 200 levels, or an exponent PostgreSQL numeric cannot hold: not written, the caller takes the text road.
        System.Text.Json.Nodes.JsonNode deep = new System.Text.Json.Nodes.JsonArray();
        for (var i = 0; i < 210; i++) deep = new System.Text.Json.Nodes.JsonArray(deep);
        Assert.That(CanonicalJson.TryWrite(deep, null, out _), Is.False);
        Assert.That(CanonicalJson.TryWrite(System.Text.Json.Nodes.JsonNode.Parse("[1e5000]"), null, out _), Is.False);
        // Keys equal once U+0000 becomes U+FFFD: the text road keeps the last one; TryWrite declines.
        Assert.That(CanonicalJson.TryWrite(System.Text.Json.Nodes.JsonNode.Parse("{\"a\\u0000\": 1, \"a\uFFFD\": 2}"), null, out _), Is.False);
    }
}
