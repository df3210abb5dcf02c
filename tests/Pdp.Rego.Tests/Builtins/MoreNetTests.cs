namespace Pdp.Rego.Tests.Builtins;

/// <summary>net.cidr_* with Go's address parsing.</summary>
public sealed class MoreNetTests : MoreBuiltinTestBase
{
    [TestCase("10.0.0.0/8", "10.1.0.0/24", true)]
    [TestCase("10.0.0.0/8", "10.1.2.3", true)]
    [TestCase("10.0.0.0/8", "11.1.2.3", false)]
    [TestCase("10.0.0.0/8", "10.0.0.0/7", false)]
    [TestCase("2001:4860:4860::8888/32", "2001:4860:4860:1234::8888/40", true)]
    [TestCase("2001:4860:4860::8888/32", "2001:4861::1", false)]
    [TestCase("10.0.0.0/8", "::1", false)]
    public void CidrContains(string cidr, string other, bool expected)
        => Assert.That(Json("net.cidr_contains", Q(cidr), Q(other)), Is.EqualTo(expected ? "true" : "false"));

    [TestCase("not-a-cidr", "192.168.1.67")]
    [TestCase("192.168.1.0/28", "not-a-cidr")]
    [TestCase("192.168.1.0/33", "192.168.1.1")]
    [TestCase("010.0.0.0/8", "10.0.0.1")] // Go rejects leading zeros
    public void CidrContainsErrors(string cidr, string other)
        => Assert.That(Fails("net.cidr_contains", Q(cidr), Q(other)).Code, Is.EqualTo("eval_builtin_error"));

    [TestCase("192.168.0.0/16", "192.168.1.0/24", true)]
    [TestCase("192.168.1.0/24", "192.168.0.0/16", true)]
    [TestCase("192.168.0.0/24", "192.168.1.0/24", false)]
    public void CidrIntersects(string a, string b, bool expected)
        => Assert.That(Json("net.cidr_intersects", Q(a), Q(b)), Is.EqualTo(expected ? "true" : "false"));

    [TestCase("\"10.0.0.0/8\"", true)]
    [TestCase("\"::/0\"", true)]
    [TestCase("\"10.0.0.0\"", false)]
    [TestCase("\"10.0.0.0/33\"", false)]
    [TestCase("1", false)]
    public void CidrIsValid(string operand, bool expected)
        => Assert.That(Json("net.cidr_is_valid", operand), Is.EqualTo(expected ? "true" : "false"));

    [Test]
    public void CidrExpand()
    {
        Assert.That(Json("net.cidr_expand", Q("192.168.1.1/30")), Is.EqualTo("[\"192.168.1.0\",\"192.168.1.1\",\"192.168.1.2\",\"192.168.1.3\"]"));
        Assert.That(Json("net.cidr_expand", Q("fd00::/127")), Is.EqualTo("[\"fd00::\",\"fd00::1\"]"));
        Assert.That(Fails("net.cidr_expand", Q("192.168.1.1/33")).Message, Is.EqualTo("net.cidr_expand: invalid CIDR address: 192.168.1.1/33"));
        Assert.That(Fails("net.cidr_expand", Q("10.0.0.0/8")).Code, Is.EqualTo("eval_builtin_error")); // too many addresses
    }

    [Test]
    public void CidrMerge()
    {
        Assert.That(Json("net.cidr_merge", "[\"192.0.128.0/24\", \"192.0.129.0/24\"]"), Is.EqualTo("[\"192.0.128.0/23\"]"));
        Assert.That(Json("net.cidr_merge", "[\"1.2.3.4\", \"1.2.3.5\", \"1.2.3.6\"]"), Is.EqualTo("[\"1.2.3.4/31\",\"1.2.3.6/32\"]"));
        Assert.That(Json("net.cidr_merge", "[\"0.0.0.0/0\", \"10.0.0.0/8\", \"::1\"]"), Is.EqualTo("[\"0.0.0.0/0\",\"::1/128\"]"));
        Assert.That(Json("net.cidr_merge", "[]"), Is.EqualTo("[]"));
        Assert.That(Fails("net.cidr_merge", "[\"bad\"]").Code, Is.EqualTo("eval_builtin_error"));
    }

    [Test]
    public void CidrContainsMatches()
    {
        Assert.That(Json("net.cidr_contains_matches", "[\"1.1.1.0/24\", \"1.1.2.0/24\"]", "{\"k\": \"1.1.1.128\", \"j\": [\"1.1.2.3\", \"x\"]}"),
            Is.EqualTo("[[0,\"k\"],[1,\"j\"]]"));
        Assert.That(Json("net.cidr_contains_matches", Q("10.0.0.0/8"), Q("10.1.1.1")), Is.EqualTo("[[\"10.0.0.0/8\",\"10.1.1.1\"]]"));
    }
}
