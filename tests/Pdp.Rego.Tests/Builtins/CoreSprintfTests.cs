using Pdp.Rego.Values;

namespace Pdp.Rego.Tests.Builtins;

public sealed class CoreSprintfTests : CoreBuiltinTestBase
{
    private static string Sprintf(string format, params Value[] args) => ((StringValue)Call("sprintf", S(format), Arr(args))!).Value;

    [Test]
    public void Common_verbs()
    {
        Assert.That(Sprintf("hi %s", S("there")), Is.EqualTo("hi there"));
        Assert.That(Sprintf("hi %s", Value.True), Is.EqualTo("hi true"));
        Assert.That(Sprintf("%d/%v", N(42), N(-7)), Is.EqualTo("42/-7"));
        Assert.That(Sprintf("hi %.2f", N(3.1415)), Is.EqualTo("hi 3.14"));
        Assert.That(Sprintf("hi %02X.%02X", N(127), N(1)), Is.EqualTo("hi 7F.01"));
        Assert.That(Sprintf("%x", N(255)), Is.EqualTo("ff"));
        Assert.That(Sprintf("%q", S("a\"b")), Is.EqualTo("\"a\\\"b\""));
        Assert.That(Sprintf("100%%"), Is.EqualTo("100%"));
        Assert.That(Sprintf("%5s|%-5s|", S("ab"), S("cd")), Is.EqualTo("   ab|cd   |"));
        Assert.That(Sprintf("%+d %05d", N(3), N(-42)), Is.EqualTo("+3 -0042"));
    }

    [Test]
    public void Composite_values_print_as_rego()
    {
        Assert.That(Sprintf("hi %v", J("[\"there\", 5, 3.14]")), Is.EqualTo("hi [\"there\", 5, 3.14]"));
        Assert.That(Sprintf("%v", J("{\"a\": [1]}")), Is.EqualTo("{\"a\": [1]}"));
        Assert.That(Sprintf("%v %v", Set(N(2), N(1)), Set()), Is.EqualTo("{1, 2} set()"));
        Assert.That(Sprintf("%v", Value.Null), Is.EqualTo("null"));
    }

    [Test]
    public void Big_integers_and_floats()
    {
        Assert.That(Sprintf("%s", Num("123456789123456789123")), Is.EqualTo("123456789123456789123"));
        Assert.That(Sprintf("%v", Num("1208925819614629174706175")), Is.EqualTo("1208925819614629174706175"));
        Assert.That(Sprintf("%v", N(2.5)), Is.EqualTo("2.5"));
        Assert.That(Sprintf("%v", N(1234567.5)), Is.EqualTo("1.2345675e+06"));
        Assert.That(Sprintf("%v", N(0.00001)), Is.EqualTo("1e-05"));
        Assert.That(Sprintf("%e", N(1234.5678)), Is.EqualTo("1.234568e+03"));
        Assert.That(Sprintf("%g", N(0.5)), Is.EqualTo("0.5"));
        Assert.That(Sprintf("%.3g", N(3.14159)), Is.EqualTo("3.14"));
        Assert.That(Sprintf("%f", N(1.5)), Is.EqualTo("1.500000"));
        Assert.That(Sprintf("%.0f %.0f %.1f", N(2.5), N(3.5), N(0.25)), Is.EqualTo("2 4 0.2"));
        Assert.That(Sprintf("%08.3f|%5.1f|%+.2f", N(-3.14159), N(3.14159), N(2.0)), Is.EqualTo("-003.142|  3.1|+2.00"));
        Assert.That(Sprintf("%.2f", N(1e20)), Is.EqualTo("100000000000000000000.00"));
    }

    [Test]
    public void Mismatches_print_like_go()
    {
        Assert.That(Sprintf("%d", S("x")), Is.EqualTo("%!d(string=x)"));
        Assert.That(Sprintf("%s", N(5)), Is.EqualTo("%!s(int=5)"));
        Assert.That(Sprintf("%d %d", N(1)), Is.EqualTo("1 %!d(MISSING)"));
        Assert.That(Sprintf("x", N(1), S("a")), Is.EqualTo("x%!(EXTRA int=1, string=a)"));
        Assert.That(Sprintf("%d", N(2.5)), Is.EqualTo("%!d(float64=2.5)"));
        Assert.That(Sprintf("%99999999d", N(1)), Is.EqualTo("%!(BADWIDTH)1"));
    }

    [Test]
    public void Operand_errors()
    {
        Assert.That(Fails("sprintf", S("%v"), S("x")).Message, Is.EqualTo("sprintf: operand 2 must be array but got string"));
        Assert.That(Fails("sprintf", N(1), J("[]")).Message, Is.EqualTo("sprintf: operand 1 must be string but got number"));
    }
}
