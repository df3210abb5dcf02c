using Pdp.Rego.Values;

namespace Pdp.Rego.Builtins;

/// <summary>
/// <c>rand.intn(str, n)</c>: a random integer in <c>[0, |n|)</c> (0 when n is 0), the same for the same
/// <c>(str, n)</c> within one evaluation, as OPA caches it.
/// </summary>
public static class RandBuiltins
{
    /// <summary>Registers the rand built-ins.</summary>
    public static void Register(BuiltinRegistry.Builder b)
        => b.Add("rand.intn", 2, Intn, [BuiltinType.String, BuiltinType.Number], nondeterministic: true);

    private static Value Intn(BuiltinContext ctx, ReadOnlySpan<Value> args)
    {
        const string name = "rand.intn";
        var key = Operands.Str(name, args, 0);
        var n = MoreOperands.Int(name, args, 1);
        if (n == 0) return NumberValue.Zero;
        if (n < 0) n = n == long.MinValue ? long.MaxValue : -n;
        var cacheKey = ("rand.intn", key, n);
        if (ctx.Cache.TryGetValue(cacheKey, out var cached)) return (Value)cached;
        Value v = NumberValue.FromInt64(Random.Shared.NextInt64(n));
        ctx.Cache[cacheKey] = v;
        return v;
    }
}
