using Pdp.Rego.Values;

namespace Pdp.Rego.Tests.Builtins;

public sealed class CoreCollectionsTests : CoreBuiltinTestBase
{
    [Test]
    public void Count_counts_elements_and_code_points()
    {
        AssertResult(Call("count", J("[1,2,3]")), N(3));
        AssertResult(Call("count", J("{\"a\":1}")), N(1));
        AssertResult(Call("count", Set(N(1), N(1), N(2))), N(2));
        AssertResult(Call("count", S("héllo😀")), N(6));
        Assert.That(Fails("count", N(1)).Message, Is.EqualTo("count: operand 1 must be one of {array, object, set, string} but got number"));
    }

    [Test]
    public void Sum_and_product()
    {
        Assert.That(Text(Call("sum", J("[1,2,3]"))), Is.EqualTo("6"));
        Assert.That(Text(Call("sum", Arr(Num("9223372036854775807"), N(1)))), Is.EqualTo("9223372036854775808"));
        Assert.That(Text(Call("sum", Arr(Num("-9223372036854775808"), N(-1)))), Is.EqualTo("-9223372036854775809"));
        Assert.That(Text(Call("sum", J("[1.5, 2.5]"))), Is.EqualTo("4"));
        Assert.That(Text(Call("sum", J("[1, 2.5]"))), Is.EqualTo("3.5"));
        Assert.That(Text(Call("product", Arr(Num("18446744073709551617"), N(2)))), Is.EqualTo("36893488147419103234"));
        Assert.That(Text(Call("product", J("[1.5, 2]"))), Is.EqualTo("3"));
        Assert.That(Text(Call("product", J("[]"))), Is.EqualTo("1"));
        Assert.That(Fails("sum", J("[1, \"a\"]")).Message, Is.EqualTo("sum: operand 1 must be array of numbers but got array containing string"));
        Assert.That(Fails("sum", S("a")).Message, Is.EqualTo("sum: operand 1 must be one of {set, array} but got string"));
    }

    [Test]
    public void Max_min_sort()
    {
        AssertResult(Call("max", J("[1, \"a\", null]")), S("a"));
        AssertResult(Call("min", J("[3, 1, 2]")), N(1));
        Assert.That(Call("max", J("[]")), Is.Null, "max of empty is undefined");
        Assert.That(Call("min", Set()), Is.Null);
        AssertResult(Call("sort", J("[3, \"b\", 1, null]")), J("[null, 1, 3, \"b\"]"));
        AssertResult(Call("sort", Set(N(2), N(1))), J("[1, 2]"));
    }

    [Test]
    public void Arrays()
    {
        AssertResult(Call("array.concat", J("[1]"), J("[2,3]")), J("[1,2,3]"));
        Assert.That(Fails("array.concat", J("{}"), J("[]")).Message, Is.EqualTo("array.concat: operand 1 must be array but got object"));
        AssertResult(Call("array.slice", J("[1,2,3,4]"), N(1), N(3)), J("[2,3]"));
        AssertResult(Call("array.slice", J("[1,2,3,4]"), N(-5), N(10)), J("[1,2,3,4]"));
        AssertResult(Call("array.slice", J("[1,2,3,4]"), N(3), N(1)), J("[]"));
        AssertResult(Call("array.reverse", J("[1,2,3]")), J("[3,2,1]"));
        AssertResult(Call("array.flatten", J("[[1],[2,[3]],4]")), J("[1,2,[3],4]"));
    }

    [Test]
    public void Sets()
    {
        AssertResult(Call("and", Set(N(1), N(2)), Set(N(2), N(3))), Set(N(2)));
        AssertResult(Call("or", Set(N(1)), Set(N(2))), Set(N(1), N(2)));
        AssertResult(Call("intersection", Set(Set(N(1), N(2)), Set(N(2), N(3)))), Set(N(2)));
        AssertResult(Call("intersection", Set()), Set());
        AssertResult(Call("union", Set(Set(N(1)), Set(N(2)))), Set(N(1), N(2)));
        Assert.That(Fails("and", Set(), N(1)).Message, Is.EqualTo("and: operand 2 must be set but got number"));
    }

    [Test]
    public void Types_and_casts()
    {
        AssertResult(Call("is_string", Value.False), Value.False);
        AssertResult(Call("is_set", Set()), Value.True);
        AssertResult(Call("is_null", Value.Null), Value.True);
        AssertResult(Call("type_name", J("{}")), S("object"));
        AssertResult(Call("type_name", Set()), S("set"));
        AssertResult(Call("to_number", Value.True), N(1));
        AssertResult(Call("to_number", Value.Null), N(0));
        AssertResult(Call("to_number", S("-1.5e2")), N(-150));
        AssertResult(Call("to_number", S("10")), N(10));
        var e = Fails("to_number", S("x1"));
        Assert.That((e.Code, e.Message), Is.EqualTo(("eval_builtin_error", "to_number: strconv.ParseFloat: parsing \"x1\": invalid syntax")));
        Assert.That(Fails("to_number", S("Inf")).Code, Is.EqualTo("eval_type_error"));
        Assert.That(Fails("to_number", S("1e400")).Message, Does.EndWith("value out of range"));
        AssertResult(Call("to_number", S("+.5")), N(0.5));
        Assert.That(Fails("to_number", J("[]")).Message, Is.EqualTo("to_number: operand 1 must be one of {null, boolean, number, string} but got array"));
    }

    [Test]
    public void Membership()
    {
        AssertResult(Call("internal.member_2", N(2), J("[1,2]")), Value.True);
        AssertResult(Call("internal.member_2", N(2), J("{\"a\":2}")), Value.True);
        AssertResult(Call("internal.member_2", S("a"), J("{\"a\":2}")), Value.False);
        AssertResult(Call("internal.member_2", N(1), S("1")), Value.False);
        AssertResult(Call("internal.member_3", N(1), S("b"), J("[\"a\",\"b\"]")), Value.True);
        AssertResult(Call("internal.member_3", S("a"), N(2), J("{\"a\":2}")), Value.True);
        AssertResult(Call("internal.member_3", N(1), N(1), Set(N(1))), Value.True);
        AssertResult(Call("internal.member_3", N(5), S("b"), J("[\"a\",\"b\"]")), Value.False);
    }

    [Test]
    public void Bits()
    {
        AssertResult(Call("bits.and", N(12), N(10)), N(8));
        AssertResult(Call("bits.or", N(12), N(10)), N(14));
        AssertResult(Call("bits.xor", N(12), N(10)), N(6));
        AssertResult(Call("bits.negate", N(5)), N(-6));
        AssertResult(Call("bits.lsh", N(1), N(70)), Num("1180591620717411303424"));
        AssertResult(Call("bits.rsh", N(-5), N(1)), N(-3));
        Assert.That(Fails("bits.and", N(1.5), N(1)).Message, Is.EqualTo("bits.and: operand 1 must be integer number but got floating-point number"));
    }

    [TestCase("500m", "0.5")]
    [TestCase("0.0005K", "0.5")]
    [TestCase("1.1Ki", "1126.4")]
    [TestCase("1G", "1000000000")]
    [TestCase("\"100TI\"", "109951162777600")]
    [TestCase("10ei", "11529215046068469760")]
    [TestCase("-3.5E2m", "-0.35")]
    [TestCase("1e-2", "0.01")]
    public void Units_parse(string input, string want) => AssertResult(Call("units.parse", S(input)), Num(want));

    [TestCase("1.1KiB", "1126")]
    [TestCase("10KB", "10000")]
    [TestCase("1e-2KB", "10")]
    [TestCase("5E", "5000000000000000000")]
    [TestCase(".5KB", "500")]
    public void Units_parse_bytes(string input, string want) => AssertResult(Call("units.parse_bytes", S(input)), Num(want));

    [TestCase("units.parse", "", "units.parse: no amount provided")]
    [TestCase("units.parse", "0.0.0", "units.parse: could not parse amount to a number")]
    [TestCase("units.parse", "100 k", "units.parse: spaces not allowed in resource strings")]
    [TestCase("units.parse", "10e10000000Ei", "units.parse: exponent too large")]
    [TestCase("units.parse", "10Xi", "units.parse: unit Xi not recognized")]
    [TestCase("units.parse_bytes", "GB", "units.parse_bytes: no byte amount provided")]
    public void Units_errors(string name, string input, string want)
    {
        var e = Fails(name, S(input));
        Assert.That((e.Code, e.Message), Is.EqualTo(("eval_builtin_error", want)));
    }
}
