using Pdp.Rego.Values;

namespace Pdp.Rego.Tests.Builtins;

public sealed class CoreArithmeticTests : CoreBuiltinTestBase
{
    [TestCase("2147483647", "1", "2147483648")]
    [TestCase("9223372036854775807", "1", "9223372036854775808")]
    [TestCase("18446744073709551617", "1", "18446744073709551618")]
    [TestCase("1.5", "2.5", "4")]
    [TestCase("1", "2.5", "3.5")]
    [TestCase("10.00", "5", "15")]
    [TestCase("0.1", "0.2", "0.3")]
    [TestCase("1e30", "1", "1000000000000000000000000000001")]
    public void Plus_is_exact_and_normalizes_integral_floats(string a, string b, string want)
        => Assert.That(Text(Call("plus", Num(a), Num(b))), Is.EqualTo(want));

    [Test]
    public void Minus_numbers_and_sets()
    {
        Assert.That(Text(Call("minus", Num("-18446744073709551617"), N(1))), Is.EqualTo("-18446744073709551618"));
        AssertResult(Call("minus", Set(N(1), N(2), N(3)), Set(N(2))), Set(N(1), N(3)));
        Assert.That(Fails("minus", Set(N(1)), N(1)).Message, Is.EqualTo("minus: operand 2 must be set but got number"));
        Assert.That(Fails("minus", N(1), Set(N(1))).Message, Is.EqualTo("minus: operand 2 must be number but got set"));
        Assert.That(Fails("minus", S("a"), N(1)).Message, Is.EqualTo("minus: operand 1 must be one of {number, set} but got string"));
    }

    [Test]
    public void Multiply_and_divide()
    {
        Assert.That(Text(Call("mul", N(2147483647), N(2147483647))), Is.EqualTo("4611686014132420609"));
        Assert.That(Text(Call("mul", Num("18446744073709551617"), N(2))), Is.EqualTo("36893488147419103234"));
        Assert.That(Text(Call("mul", N(2.5), N(2))), Is.EqualTo("5"));
        Assert.That(Text(Call("div", N(6), N(3))), Is.EqualTo("2"));
        Assert.That(Text(Call("div", N(-6), N(3))), Is.EqualTo("-2"));
        Assert.That(Text(Call("div", N(1), N(4))), Is.EqualTo("0.25"));
        Assert.That(Text(Call("div", N(0), N(5))), Is.EqualTo("0"));
        var e = Fails("div", N(1), N(0.0));
        Assert.That((e.Code, e.Message), Is.EqualTo(("eval_builtin_error", "div: divide by zero")));
    }

    [Test]
    public void Remainder_follows_the_dividend_sign_and_rejects_fractions()
    {
        Assert.That(Text(Call("rem", N(-17), N(5))), Is.EqualTo("-2"));
        Assert.That(Text(Call("rem", N(17), N(-5))), Is.EqualTo("2"));
        Assert.That(Text(Call("rem", Num("4.0"), N(3))), Is.EqualTo("1"));
        Assert.That(Text(Call("rem", N(10), Num("18446744073709551616"))), Is.EqualTo("10"));
        Assert.That(Text(Call("rem", Num("18446744073709551617"), Num("18446744073709551616"))), Is.EqualTo("1"));
        Assert.That(Fails("rem", N(1.5), N(1)).Message, Does.Contain("modulo on floating-point number"));
        Assert.That(Fails("rem", N(1), N(0)).Message, Does.Contain("modulo by zero"));
    }

    [TestCase("abs", "-5", "5")]
    [TestCase("abs", "-9223372036854775808", "9223372036854775808")]
    [TestCase("abs", "-2.5", "2.5")]
    [TestCase("round", "2.5", "3")]
    [TestCase("round", "-2.5", "-3")]
    [TestCase("round", "2.4", "2")]
    [TestCase("round", "10.00", "10")]
    [TestCase("ceil", "1.2", "2")]
    [TestCase("ceil", "-1.2", "-1")]
    [TestCase("floor", "-1.2", "-2")]
    [TestCase("floor", "7", "7")]
    public void Unary(string name, string x, string want) => Assert.That(Text(Call(name, Num(x))), Is.EqualTo(want));

    [Test]
    public void Operand_type_errors_use_opa_wording()
    {
        var e = Fails("plus", S("a"), N(1));
        Assert.That((e.Code, e.Message), Is.EqualTo(("eval_type_error", "plus: operand 1 must be number but got string")));
    }

    [Test]
    public void Numbers_range()
    {
        AssertResult(Call("numbers.range", N(1), N(4)), J("[1,2,3,4]"));
        AssertResult(Call("numbers.range", N(2), N(-1)), J("[2,1,0,-1]"));
        AssertResult(Call("numbers.range", N(5), N(5)), J("[5]"));
        AssertResult(Call("numbers.range_step", N(0), N(10), N(3)), J("[0,3,6,9]"));
        AssertResult(Call("numbers.range_step", N(10), N(0), N(4)), J("[10,6,2]"));
        Assert.That(Fails("numbers.range_step", N(0), N(10), N(0)).Message, Does.Contain("step must be a positive integer"));
        Assert.That(Fails("numbers.range", N(1.5), N(3)).Message, Is.EqualTo("numbers.range: operand 1 must be integer number but got floating-point number"));
        Assert.That(Fails("numbers.range", N(0), N(100_000_000)).Code, Is.EqualTo("eval_builtin_error"));
    }

    [TestCase("0.1234567890123456789", "0.1234567890123456788", 1)]
    [TestCase("1e400", "1e399", 1)]
    [TestCase("1e-400", "0", 1)]
    [TestCase("-1e-400", "0", -1)]
    [TestCase("0.10", "0.1", 0)]
    [TestCase("0.30000000000000004", "0.3", 1)]
    [TestCase("1234567890123456789012", "1234567890123456789013", -1)]
    public void Decimals_compare_as_the_numbers_they_denote(string a, string b, int want)
    {
        AssertResult(Call("lt", Num(a), Num(b)), Value.Bool(want < 0));
        AssertResult(Call("equal", Num(a), Num(b)), Value.Bool(want == 0));
        AssertResult(Call("gt", Num(a), Num(b)), Value.Bool(want > 0));
    }

    [Test]
    public void Comparison_uses_the_total_order()
    {
        AssertResult(Call("equal", N(1), N(1.0)), Value.True);
        AssertResult(Call("neq", S("a"), N(1)), Value.True);
        AssertResult(Call("lt", Value.Null, Value.False), Value.True);
        AssertResult(Call("lt", N(10), S("1")), Value.True);
        AssertResult(Call("gte", J("[1,2]"), J("[1]")), Value.True);
        AssertResult(Call("gt", Set(), J("{}")), Value.True);
        AssertResult(Call("lte", N(2), N(1)), Value.False);
    }
}
