using Pdp.Rego.Values;

namespace Pdp.Rego.Tests.Builtins;

/// <summary>uuid, semver, graph, crypto and rand.</summary>
public sealed class MoreMiscTests : MoreBuiltinTestBase
{
    [Test]
    public void UuidRfc4122IsStablePerKeyAndEvaluation()
    {
        var ctx = NewContext();
        var a = CallIn(ctx, "uuid.rfc4122", Q("k"));
        var b = CallIn(ctx, "uuid.rfc4122", Q("k"));
        var c = CallIn(ctx, "uuid.rfc4122", Q("other"));
        var d = CallIn(NewContext(), "uuid.rfc4122", Q("k"));
        Assert.That(b, Is.EqualTo(a));
        Assert.That(c, Is.Not.EqualTo(a));
        Assert.That(d, Is.Not.EqualTo(a));
        Assert.That(((StringValue)a!).Value, Does.Match("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"));
    }

    [Test]
    public void UuidParse()
    {
        Assert.That(Json("uuid.parse", Q("urn:uuid:000003e8-48b9-21ee-b200-325096b39f47")),
            Is.EqualTo("{\"clocksequence\":12800,\"domain\":\"Person\",\"id\":1000,\"macvariables\":\"local:unicast\",\"nodeid\":\"32-50-96-b3-9f-47\",\"time\":1693566990121469600,\"variant\":\"RFC4122\",\"version\":2}"));
        Assert.That(Json("uuid.parse", Q("{00000000-0000-4000-8000-000000000000}")), Is.EqualTo("{\"variant\":\"RFC4122\",\"version\":4}"));
        Assert.That(Json("uuid.parse", Q("6bea8ef2d3d33cd184e09bab06a52ece")), Is.EqualTo("{\"variant\":\"RFC4122\",\"version\":3}"));
        Assert.That(Json("uuid.parse", Q("123")), Is.EqualTo("undefined"));
    }

    [TestCase("1.0.0", "2.0.0", -1)]
    [TestCase("2.0.0", "1.0.0", 1)]
    [TestCase("1.2.3-0", "1.2.3-1", -1)]
    [TestCase("1.2.3+01", "1.2.3+2", 0)]
    [TestCase("1.2.3", "1.2.3-alpha", 1)]
    [TestCase("1.2.3-alpha.1", "1.2.3-alpha.beta", -1)]
    [TestCase("1.2.3-alpha", "1.2.3-alpha.1", -1)]
    [TestCase("1.10.0", "1.9.0", 1)]
    public void SemverCompare(string a, string b, int expected) => Assert.That(Json("semver.compare", Q(a), Q(b)), Is.EqualTo(expected.ToString()));

    [TestCase("1", 1)]
    [TestCase("1.02.3", 1)]
    [TestCase("1.2.3-", 1)]
    [TestCase("v1.2.3", 1)]
    public void SemverCompareRejectsInvalid(string a, int operand)
        => Assert.That(Fails("semver.compare", Q(a), Q("1.0.0")).Message, Is.EqualTo($"semver.compare: operand {operand}: string {Q(a)} is not a valid SemVer"));

    [TestCase("\"0.0.0\"", true)]
    [TestCase("\"1.2.3-0a\"", true)]
    [TestCase("\"1.2.3+01\"", true)]
    [TestCase("\"01.2.3\"", false)]
    [TestCase("\"1.2.3-alpha.01\"", false)]
    [TestCase("\"1.2.3+\"", false)]
    [TestCase("1", false)]
    public void SemverIsValid(string operand, bool expected) => Assert.That(Json("semver.is_valid", operand), Is.EqualTo(expected ? "true" : "false"));

    [Test]
    public void GraphReachable()
    {
        Assert.That(Json("graph.reachable", "{\"a\": [\"b\"], \"b\": [\"c\"], \"c\": [\"a\"], \"d\": []}", "[\"a\"]"), Is.EqualTo("[\"a\",\"b\",\"c\"]"));
        Assert.That(Json("graph.reachable", "{\"a\": [\"b\"]}", "[\"z\"]"), Is.EqualTo("[]"));
        Assert.That(Fails("graph.reachable", "{}", "1").Code, Is.EqualTo("eval_type_error"));
    }

    [Test]
    public void GraphReachablePaths()
    {
        Assert.That(Json("graph.reachable_paths", "{\"a\": [\"b\"], \"b\": [\"c\"], \"c\": [\"a\"]}", "[\"a\"]"), Is.EqualTo("[[\"a\",\"b\",\"c\"]]"));
        Assert.That(Json("graph.reachable_paths", "{\"1\": [], \"2\": [\"1\"], \"3\": [\"2\"], \"4\": [\"3\", \"2\"], \"5\": [\"4\"]}", "[\"5\"]"),
            Is.EqualTo("[[\"5\",\"4\",\"2\",\"1\"],[\"5\",\"4\",\"3\",\"2\",\"1\"]]"));
        Assert.That(Json("graph.reachable_paths", "{}", "[\"a\"]"), Is.EqualTo("[]"));
    }

    [Test]
    public void GraphReachableOnALongChainDoesNotOverflowTheStack()
    {
        var sb = new System.Text.StringBuilder("{");
        for (int i = 0; i < 50_000; i++) sb.Append($"\"n{i}\": [\"n{i + 1}\"],");
        sb.Append("\"n50000\": []}");
        var paths = (SetValue)Call("graph.reachable_paths", sb.ToString(), "[\"n0\"]")!;
        Assert.That(paths.Count, Is.EqualTo(1));
        Assert.That(((ArrayValue)paths.Items[0]).Count, Is.EqualTo(50_001));
    }

    [Test]
    public void Crypto()
    {
        Assert.That(Json("crypto.md5", Q("hello")), Is.EqualTo(Q("5d41402abc4b2a76b9719d911017c592")));
        Assert.That(Json("crypto.sha1", Q("hello")), Is.EqualTo(Q("aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d")));
        Assert.That(Json("crypto.sha256", Q("hello")), Is.EqualTo(Q("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")));
        // RFC 4231 test case 2.
        Assert.That(Json("crypto.hmac.sha256", Q("what do ya want for nothing?"), Q("Jefe")), Is.EqualTo(Q("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")));
        Assert.That(Json("crypto.hmac.equal", Q("abc"), Q("abc")), Is.EqualTo("true"));
        Assert.That(Json("crypto.hmac.equal", Q("abc"), Q("abd")), Is.EqualTo("false"));
    }

    [Test]
    public void RandIntnIsCachedPerEvaluationAndInRange()
    {
        var ctx = NewContext();
        var a = CallIn(ctx, "rand.intn", Q("x"), "1000000");
        Assert.That(CallIn(ctx, "rand.intn", Q("x"), "1000000"), Is.EqualTo(a));
        Assert.That(((NumberValue)a!).TryGetInt64(out var v) && v is >= 0 and < 1000000, Is.True);
        Assert.That(Json("rand.intn", Q("x"), "0"), Is.EqualTo("0"));
        var neg = (NumberValue)Call("rand.intn", Q("y"), "-5")!;
        Assert.That(neg.TryGetInt64(out var n) && n is >= 0 and < 5, Is.True);
    }
}
