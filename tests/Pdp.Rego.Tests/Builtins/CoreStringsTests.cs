using Pdp.Rego.Values;

namespace Pdp.Rego.Tests.Builtins;

public sealed class CoreStringsTests : CoreBuiltinTestBase
{
    [Test]
    public void Concat_and_split()
    {
        AssertResult(Call("concat", S("/"), J("[\"\", \"foo\", \"bar\"]")), S("/foo/bar"));
        AssertResult(Call("concat", S(","), Set(S("b"), S("a"))), S("a,b"));
        AssertResult(Call("concat", S(","), J("[]")), S(""));
        Assert.That(Fails("concat", S(","), J("[1]")).Message, Is.EqualTo("concat: operand 2 must be array of strings but got array containing number"));
        AssertResult(Call("split", S("a.b.c"), S(".")), J("[\"a\",\"b\",\"c\"]"));
        AssertResult(Call("split", S("abc"), S("")), J("[\"a\",\"b\",\"c\"]"));
        AssertResult(Call("split", S("abc"), S(",")), J("[\"abc\"]"));
    }

    [TestCase("a.b.c.d", ".", 2, "[\"a\",\"b\"]")]
    [TestCase("a.b.c.d", ".", 0, "[]")]
    [TestCase("a.b.c.d", ".", -2, "[\"c\",\"d\"]")]
    [TestCase("a.b.c.d", ".", -10, "[\"a\",\"b\",\"c\",\"d\"]")]
    [TestCase("", ".", 2, "[\"\"]")]
    [TestCase("abc", "", -2, "[\"b\",\"c\"]")]
    [TestCase("a.b", ".", long.MinValue, "[\"a\",\"b\"]")]
    public void Split_n(string s, string sep, long n, string want) => AssertResult(Call("strings.split_n", S(s), S(sep), N(n)), J(want));

    [Test]
    public void Substring_counts_code_points()
    {
        AssertResult(Call("substring", S("abcdef"), N(2), N(3)), S("cde"));
        AssertResult(Call("substring", S("abcdef"), N(2), N(-1)), S("cdef"));
        AssertResult(Call("substring", S("abc"), N(5), N(1)), S(""));
        AssertResult(Call("substring", S("aé😀b"), N(1), N(2)), S("é😀"));
        var e = Fails("substring", S("abc"), N(-1), N(1));
        Assert.That((e.Code, e.Message), Is.EqualTo(("eval_builtin_error", "substring: negative offset")));
        Assert.That(Fails("substring", S("abc"), N(1.5), N(1)).Message, Is.EqualTo("substring: operand 2 must be integer number but got floating-point number"));
    }

    [Test]
    public void Indexof()
    {
        AssertResult(Call("indexof", S("hello"), S("l")), N(2));
        AssertResult(Call("indexof", S("héllo"), S("l")), N(2));
        AssertResult(Call("indexof", S("😀x"), S("x")), N(1));
        AssertResult(Call("indexof", S("abc"), S("z")), N(-1));
        AssertResult(Call("indexof_n", S("aaa"), S("aa")), J("[0,1]"));
        AssertResult(Call("indexof_n", S("abc"), S("z")), J("[]"));
        Assert.That(Fails("indexof", S("a"), S("")).Message, Is.EqualTo("indexof: empty search character"));
    }

    [Test]
    public void Trim_family()
    {
        AssertResult(Call("trim", S("  xhix "), S(" x")), S("hi"));
        AssertResult(Call("trim_left", S("xxhix"), S("x")), S("hix"));
        AssertResult(Call("trim_right", S("xxhix"), S("x")), S("xxhi"));
        AssertResult(Call("trim_prefix", S("foobar"), S("foo")), S("bar"));
        AssertResult(Call("trim_prefix", S("foobar"), S("bar")), S("foobar"));
        AssertResult(Call("trim_suffix", S("foobar"), S("bar")), S("foo"));
        AssertResult(Call("trim_space", S("\t hi \n")), S("hi"));
    }

    [Test]
    public void Replace_and_replace_n()
    {
        AssertResult(Call("replace", S("a.b.c"), S("."), S("/")), S("a/b/c"));
        AssertResult(Call("replace", S("abc"), S(""), S("-")), S("-a-b-c-"));
        // After an empty key matched, the other keys get a chance at the same position (Go's Replacer).
        AssertResult(Call("strings.replace_n", J("{\"\":\"X\",\"a\":\"Y\"}"), S("ab")), S("XYXbX"));
        AssertResult(Call("strings.replace_n", J("{\"\":\"-\",\"é\":\"e\"}"), S("aéb")), S("-a-e-b-"));
        AssertResult(Call("strings.replace_n", J("{\"a\":\"b\",\"b\":\"c\"}"), S("ab")), S("bc"));
        // Keys apply in sorted order and the first matching key wins (Go's Replacer priority), so "a" beats "ab".
        AssertResult(Call("strings.replace_n", J("{\"ab\":\"1\",\"a\":\"2\"}"), S("aab")), S("22b"));
        Assert.That(Fails("strings.replace_n", J("{\"a\":1}"), S("a")).Message, Is.EqualTo("strings.replace_n: operand 1 non-string value found in pattern object"));
        Assert.That(Fails("strings.replace_n", J("{}"), N(1)).Message, Is.EqualTo("strings.replace_n: operand 2 must be string but got number"));
    }

    [Test]
    public void Case_and_affixes()
    {
        AssertResult(Call("lower", S("AbC")), S("abc"));
        AssertResult(Call("upper", S("AbC")), S("ABC"));
        AssertResult(Call("contains", S("abc"), S("bc")), Value.True);
        AssertResult(Call("startswith", S("abc"), S("ab")), Value.True);
        AssertResult(Call("endswith", S("abc"), S("ab")), Value.False);
        AssertResult(Call("strings.reverse", S("ab😀c")), S("c😀ba"));
        AssertResult(Call("strings.count", S("cheese"), S("e")), N(3));
        AssertResult(Call("strings.count", S("five"), S("")), N(5));
    }

    [Test]
    public void Format_int_truncates_and_uses_the_base()
    {
        AssertResult(Call("format_int", N(15.5), N(16)), S("f"));
        AssertResult(Call("format_int", N(-15.5), N(16)), S("-f"));
        AssertResult(Call("format_int", N(3.1), N(10)), S("3"));
        AssertResult(Call("format_int", N(5), N(2)), S("101"));
        Assert.That(Fails("format_int", N(5), N(3)).Message, Is.EqualTo("format_int: operand 2 must be one of {2, 8, 10, 16}"));
    }

    [Test]
    public void Any_prefix_and_suffix_match()
    {
        AssertResult(Call("strings.any_prefix_match", J("[\"a/b\",\"c/d\"]"), J("[\"c/\"]")), Value.True);
        AssertResult(Call("strings.any_prefix_match", S("a/b"), Set(S("x"), S("a"))), Value.True);
        AssertResult(Call("strings.any_suffix_match", S("a/b"), S("/c")), Value.False);
        AssertResult(Call("strings.any_suffix_match", J("[]"), S("")), Value.False);
        Assert.That(Fails("strings.any_prefix_match", J("[1]"), S("a")).Message,
            Is.EqualTo("strings.any_prefix_match: operand 1 must be array of strings but got array containing number"));
        Assert.That(Fails("strings.any_suffix_match", S("a"), N(1)).Message,
            Is.EqualTo("strings.any_suffix_match: operand 2 must be one of {string, set, array} but got number"));
    }
}
