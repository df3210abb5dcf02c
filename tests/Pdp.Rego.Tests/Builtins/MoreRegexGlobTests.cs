using Pdp.Rego.Builtins;

namespace Pdp.Rego.Tests.Builtins;

/// <summary>regex.* with Go RE2 semantics and glob.* with gobwas/glob semantics.</summary>
public sealed class MoreRegexGlobTests : MoreBuiltinTestBase
{
    [TestCase(@"^a.*z$", "abcz", true)]
    [TestCase(@"^a.*z$", "abcz\n", false)] // Go's $ is end of text without (?m)
    [TestCase(@"(?m)^a.*z$", "abcz\nq", true)]
    [TestCase(@"^\d+$", "١٢", false)] // \d is ASCII in RE2
    [TestCase(@"^\w+$", "héllo", false)]
    [TestCase(@"^[[:alpha:]]+$", "abc", true)]
    [TestCase(@"^\Qa.b\E$", "a.b", true)]
    [TestCase(@"^\Qa.b\E$", "axb", false)]
    [TestCase(@"^(?P<x>a)b$", "ab", true)]
    [TestCase(@"^\x{41}\x42$", "AB", true)]
    [TestCase(@"^\pL+$", "héllo", true)]
    [TestCase(@"a{2}", "caab", true)]
    [TestCase(@"^a{,2}$", "a{,2}", true)] // not a repetition in Go: literal
    [TestCase(@"^.$", "😀", true)] // '.' is one code point, not one UTF-16 unit
    [TestCase(@"^[[:^alpha:]]+$", "123", true)]
    [TestCase(@"(?i)ABC", "xabcx", true)]
    [TestCase(@"a.b", "a\nb", false)]
    [TestCase(@"(?s)a.b", "a\nb", true)]
    public void RegexMatch(string pattern, string value, bool expected)
        => Assert.That(Json("regex.match", Q(pattern), Q(value)), Is.EqualTo(expected ? "true" : "false"));

    [TestCase(".+", true)]
    [TestCase("++", false)]
    [TestCase("(?=a)", false)] // lookahead: not RE2
    [TestCase("(?<!a)b", false)]
    [TestCase(@"(a)\1", false)] // backreference: not RE2
    [TestCase("(?>a)", false)]
    [TestCase("a{1001}", false)] // RE2 repeat limit
    [TestCase("(abc", false)]
    [TestCase("[a-", false)]
    [TestCase(@"\e", false)]
    public void RegexIsValid(string pattern, bool expected)
        => Assert.That(Json("regex.is_valid", Q(pattern)), Is.EqualTo(expected ? "true" : "false"));

    [Test]
    public void RegexIsValidOfNonStringIsFalse() => Assert.That(Json("regex.is_valid", "10"), Is.EqualTo("false"));

    [Test]
    public void RegexMatchWithInvalidPatternIsBuiltinError()
    {
        var e = Fails("regex.match", Q("(abc"), Q("abc"));
        Assert.That(e.Code, Is.EqualTo("eval_builtin_error"));
        Assert.That(e.Message, Does.StartWith("regex.match: error parsing regexp:"));
    }

    [Test]
    public void RegexMatchOperandTypeError()
    {
        var e = Fails("regex.match", Q("a"), "1");
        Assert.That(e.Code, Is.EqualTo("eval_type_error"));
        Assert.That(e.Message, Is.EqualTo("regex.match: operand 2 must be string but got number"));
    }

    [Test]
    public void FindNSkipsEmptyMatchAfterMatchAsGo()
    {
        Assert.That(Json("regex.find_n", Q("a*"), Q("baaac"), "-1"), Is.EqualTo("[\"\",\"aaa\",\"\"]"));
        Assert.That(Json("regex.find_n", Q("[0-9]"), Q("a1b2c3"), "2"), Is.EqualTo("[\"1\",\"2\"]"));
        Assert.That(Json("regex.find_n", Q("[0-9]"), Q("a1b2c3"), "0"), Is.EqualTo("[]"));
    }

    [Test]
    public void UngreedyFlagSwapsGreediness()
    {
        Assert.That(Json("regex.find_n", Q("(?U)a+"), Q("aaa"), "-1"), Is.EqualTo("[\"a\",\"a\",\"a\"]"));
        Assert.That(Json("regex.find_n", Q("(?U)a+?"), Q("aaa"), "-1"), Is.EqualTo("[\"aaa\"]"));
        Assert.That(Json("regex.find_n", Q("a+?"), Q("aaa"), "-1"), Is.EqualTo("[\"a\",\"a\",\"a\"]"));
        Assert.That(Json("regex.find_n", Q("(?U:a{1,2})a"), Q("aaa"), "-1"), Is.EqualTo("[\"aa\"]"));
    }

    [Test]
    public void FindAllStringSubmatchUnmatchedGroupsAreEmpty()
        => Assert.That(Json("regex.find_all_string_submatch_n", Q("a(x*)b(y)?"), Q("-ab-axxb-"), "-1"),
            Is.EqualTo("[[\"ab\",\"\",\"\"],[\"axxb\",\"xx\",\"\"]]"));

    [TestCase("a", "banana", "[\"b\",\"n\",\"n\",\"\"]")]
    [TestCase("z+", "pizza", "[\"pi\",\"a\"]")]
    [TestCase("^[a-z ]+$", "foobar baz", "[\"\",\"\"]")]
    [TestCase("^[a-z]+$", "", "[\"\"]")]
    [TestCase("[a-z]+$", "foobar baz", "[\"foobar \",\"\"]")]
    public void Split(string pattern, string value, string expected)
        => Assert.That(Json("regex.split", Q(pattern), Q(value)), Is.EqualTo(expected));

    [TestCase("-ab-axxb-", "a(x*)b", "${1}W", "-W-xxW-")]
    [TestCase("-ab-axxb-", "a(x*)b", "$1W", "---")] // Go reads $1W as group "1W"
    [TestCase("abc", "(?P<n>b)", "[$n]", "a[b]c")]
    [TestCase("abc", "b", "$$", "a$c")]
    [TestCase("aaa", "a", "b", "bbb")]
    public void Replace(string s, string pattern, string template, string expected)
        => Assert.That(Json("regex.replace", Q(s), Q(pattern), Q(template)), Is.EqualTo(Q(expected)));

    [Test]
    public void TemplateMatch()
    {
        Assert.That(Json("regex.template_match", Q("urn:foo:{.*}"), Q("urn:foo:bar:baz"), Q("{"), Q("}")), Is.EqualTo("true"));
        Assert.That(Json("regex.template_match", Q("urn:foo.{[0-9]+}"), Q("urn:fooX12"), Q("{"), Q("}")), Is.EqualTo("false"));
        Assert.That(Json("regex.template_match", Q("id-<[0-9]{2}>"), Q("id-12"), Q("<"), Q(">")), Is.EqualTo("true"));
        Assert.That(Fails("regex.template_match", Q("a{b"), Q("ab"), Q("{"), Q("}")).Code, Is.EqualTo("eval_builtin_error"));
    }

    [TestCase("a.a.", ".b.b", true)]
    [TestCase("[a-z]+", "[0-9]*", false)]
    [TestCase("[a-z]+", "[^0-9]", true)]
    [TestCase("[^a-z]", "[a-z]", false)]
    [TestCase("abc*", "ab", true)]
    [TestCase("abc", "abd", false)]
    [TestCase("x*", "y*", false)] // only the empty string is common, and it does not count
    [TestCase(".*", "\\*", true)]
    [TestCase("a+b+", "a*b", true)]
    public void GlobsMatch(string a, string b, bool expected)
        => Assert.That(Json("regex.globs_match", Q(a), Q(b)), Is.EqualTo(expected ? "true" : "false"));

    [Test]
    public void GlobsMatchErrors()
    {
        Assert.That(Fails("regex.globs_match", Q("[a-"), Q("a")).Code, Is.EqualTo("eval_builtin_error"));
        Assert.That(Fails("regex.globs_match", Q("*a"), Q("a")).Code, Is.EqualTo("eval_builtin_error"));
    }

    [Test]
    public void CompiledPatternsAreCachedAndShared()
    {
        Assert.That(GoRegex.TryGet("^cache-me-[0-9]+$", out var a, out _), Is.True);
        Assert.That(GoRegex.TryGet("^cache-me-[0-9]+$", out var b, out _), Is.True);
        Assert.That(b, Is.SameAs(a));
    }

    [TestCase("*.github.com", "[\".\"]", "api.github.com", true)]
    [TestCase("*.github.com", "[\".\"]", "api.cdn.github.com", false)]
    [TestCase("api.**.com", "[\".\"]", "api.cdn.github.com", true)]
    [TestCase("*:github:com", "[\":\"]", "api:github:com", true)]
    [TestCase("*", "[]", "foo.bar", false)] // empty delimiters mean ["."]
    [TestCase("*", "null", "foo.bar", true)] // null means none
    [TestCase("?at", "[\"f\"]", "fat", false)]
    [TestCase("[abc]at", "[]", "cat", true)]
    [TestCase("[!abc]at", "[]", "fat", true)]
    [TestCase("[a-c]at", "[]", "bat", true)]
    [TestCase("[!a-c]at", "[]", "bat", false)]
    [TestCase("{cat,bat,[fr]at}", "[]", "rat", true)]
    [TestCase("{cat,bat,[fr]at}", "[]", "at", false)]
    [TestCase("a/*/b", "null", "a/b", false)]
    [TestCase("mcp.*.read_*", "[\".\"]", "mcp.files.read_file", true)]
    [TestCase("\\*.x", "[\".\"]", "*.x", true)]
    [TestCase("\\*.x", "[\".\"]", "a.x", false)]
    [TestCase("a+b(c)", "[]", "a+b(c)", true)] // regex metacharacters are literal in globs
    public void GlobMatch(string pattern, string delimiters, string value, bool expected)
        => Assert.That(Json("glob.match", Q(pattern), delimiters, Q(value)), Is.EqualTo(expected ? "true" : "false"));

    [Test]
    public void GlobErrors()
    {
        Assert.That(Fails("glob.match", Q("[abc"), "[]", Q("a")).Code, Is.EqualTo("eval_builtin_error"));
        Assert.That(Fails("glob.match", Q("{a,b"), "[]", Q("a")).Code, Is.EqualTo("eval_builtin_error"));
        var e = Fails("glob.match", Q("*"), "1", Q("a"));
        Assert.That(e.Message, Is.EqualTo("glob.match: operand 2 must be one of {array, null} but got number"));
    }

    [Test]
    public void ConcurrentCallsWithCacheEvictionStayCorrect()
    {
        // More distinct patterns than the caches hold, from many threads: every answer must still be right.
        var failures = 0;
        Parallel.For(0, 6000, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            var glob = Call("glob.match", Q($"tool{i}.*"), "[\".\"]", Q($"tool{i}.read"))!.ToJson();
            var globNo = Call("glob.match", Q($"tool{i}.*"), "[\".\"]", Q($"tool{i}.a.b"))!.ToJson();
            var regex = i % 10 == 0 ? Call("regex.match", Q($"^t{i}[0-9]$"), Q($"t{i}7"))!.ToJson() : "true";
            if (glob != "true" || globNo != "false" || regex != "true") Interlocked.Increment(ref failures);
        });
        Assert.That(failures, Is.Zero);
    }

    [Test]
    public void GlobQuoteMetaRoundTrips()
    {
        Assert.That(Json("glob.quote_meta", Q("*.github.com")), Is.EqualTo(Q(@"\*.github.com")));
        var quoted = Call("glob.quote_meta", Q("a*[b]{c}?"))!.ToJson();
        Assert.That(Json("glob.match", quoted, "[]", Q("a*[b]{c}?")), Is.EqualTo("true"));
    }
}
