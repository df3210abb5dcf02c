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
}
