using Pdp.Rego.Builtins;
using Pdp.Rego.Values;

namespace Pdp.Rego.Tests.Builtins;

/// <summary>Calls core built-ins straight through the registry, with values written as JSON (or Rego-ish helpers).</summary>
public abstract class CoreBuiltinTestBase
{
    private static readonly BuiltinContext Context = new(EvalOptions.Default, DateTimeOffset.UnixEpoch, CancellationToken.None);

    /// <summary>Calls <paramref name="name"/> with the given values; null means undefined.</summary>
    protected static Value? Call(string name, params Value[] args)
    {
        Assert.That(BuiltinRegistry.TryGet(name, out var def), Is.True, $"built-in {name} is registered");
        Assert.That(def.Arity, Is.EqualTo(args.Length), $"arity of {name}");
        return def.Function(Context, args);
    }

    /// <summary>Calls with JSON-written arguments.</summary>
    protected static Value? CallJson(string name, params string[] jsonArgs)
        => Call(name, jsonArgs.Select(Value.FromJson).ToArray());

    /// <summary>The exception a call throws.</summary>
    protected static BuiltinException Fails(string name, params Value[] args)
        => Assert.Throws<BuiltinException>(() => Call(name, args))!;

    protected static Value J(string json) => Value.FromJson(json);
    protected static Value S(string s) => new StringValue(s);
    protected static Value N(long n) => NumberValue.FromInt64(n);
    protected static Value N(double d) => NumberValue.FromDouble(d);
    protected static Value Num(string text) => NumberValue.Parse(text);
    protected static Value Set(params Value[] items) => SetValue.Of(items);
    protected static Value Arr(params Value[] items) => new ArrayValue(items);

    /// <summary>Asserts a call's result equals <paramref name="expected"/> (by Rego equality) and prints the same.</summary>
    protected static void AssertResult(Value? actual, Value expected)
    {
        Assert.That(actual, Is.Not.Null, "result is defined");
        Assert.That(actual!.Equals(expected), Is.True, $"got {actual}, want {expected}");
    }

    /// <summary>The text form of a number result (exactness checks).</summary>
    protected static string Text(Value? v) => v is NumberValue n ? n.ToText() : v?.ToString() ?? "<undefined>";
}
