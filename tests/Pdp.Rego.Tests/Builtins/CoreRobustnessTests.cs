using Pdp.Rego.Builtins;
using Pdp.Rego.Values;

namespace Pdp.Rego.Tests.Builtins;

/// <summary>Every core built-in, called with every combination of odd operands, either returns or throws
/// <see cref="BuiltinException"/>: bad input is a Rego error, never a crash.</summary>
public sealed class CoreRobustnessTests
{
    private static readonly string[] Names =
    [
        "equal", "neq", "lt", "lte", "gt", "gte", "plus", "minus", "mul", "div", "rem", "abs", "round", "ceil", "floor",
        "numbers.range", "numbers.range_step", "count", "sum", "product", "max", "min", "sort", "array.concat",
        "array.slice", "array.reverse", "array.flatten", "and", "or", "intersection", "union", "is_number", "is_string",
        "is_boolean", "is_array", "is_set", "is_object", "is_null", "type_name", "to_number", "internal.member_2",
        "internal.member_3", "concat", "contains", "startswith", "endswith", "lower", "upper", "split", "strings.split_n",
        "substring", "trim", "trim_left", "trim_right", "trim_prefix", "trim_suffix", "trim_space", "replace",
        "strings.replace_n", "indexof", "indexof_n", "format_int", "strings.reverse", "strings.count",
        "strings.any_prefix_match", "strings.any_suffix_match", "sprintf", "object.get", "object.keys", "object.union",
        "object.union_n", "object.remove", "object.filter", "object.subset", "bits.and", "bits.or", "bits.xor",
        "bits.negate", "bits.lsh", "bits.rsh", "units.parse", "units.parse_bytes",
    ];

    private static readonly Value[] Samples =
    [
        Value.Null, Value.True, NumberValue.Zero, NumberValue.FromInt64(-1), NumberValue.FromDouble(1.5),
        NumberValue.Parse("1e-400"), NumberValue.Parse("123456789012345678901234567890"), NumberValue.FromInt64(long.MinValue),
        StringValue.Empty, new StringValue("a%b%d%v😀"), new StringValue("1e9999999"), new StringValue("10Ki"),
        ArrayValue.Empty, Value.FromJson("[1, \"a\", [2], {\"k\": {}}]"), ObjectValue.Empty,
        Value.FromJson("{\"a\": {\"b\": 1}, \"\": \"x\"}"), SetValue.Empty,
        SetValue.Of([NumberValue.One, new StringValue("a"), SetValue.Of([NumberValue.One])]),
    ];

    private static readonly BuiltinContext Context = new(EvalOptions.Default, DateTimeOffset.UnixEpoch, CancellationToken.None);

    [Test]
    public void Every_operand_combination_returns_or_raises_a_builtin_error()
    {
        BuiltinRobustness.AssertEveryCombinationReturnsOrRaises(Names, Samples, () => Context);
    }
}
