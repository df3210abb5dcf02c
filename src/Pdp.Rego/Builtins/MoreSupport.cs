using System.Collections.Concurrent;
using Pdp.Rego.Values;

namespace Pdp.Rego.Builtins;

/// <summary>
/// What the "more" built-in categories (regex, glob, time, net, encoding, ...) need beyond <see cref="Operands"/>:
/// their integer operands (a too-large integer is an <c>eval_builtin_error</c>, an integral float is accepted) and
/// string arrays.
/// </summary>
internal static class MoreOperands
{
    /// <summary>The operand as a 64-bit integer; a non-integral or too large number is an <c>eval_builtin_error</c>
    /// (OPA: <c>operand N must be integer number but got floating-point number</c>).</summary>
    public static long Int(string builtin, ReadOnlySpan<Value> args, int index)
    {
        var n = Operands.Num(builtin, args, index);
        if (n.TryGetInt64(out var v)) return v;
        if (n.IsIntegral && n.IsInteger) throw BuiltinException.Error(builtin, $"operand {index + 1} is too large");
        if (n.IsIntegral && Math.Abs(n.ToDouble()) < 9.2e18) return (long)n.ToDouble();
        throw new BuiltinException("eval_type_error", $"{builtin}: operand {index + 1} must be integer number but got floating-point number");
    }

    /// <summary>An array of strings.</summary>
    public static ArrayValue Strings(IEnumerable<string> items) => new(items.Select(s => (Value)new StringValue(s)).ToArray());
}

/// <summary>
/// A process-wide, thread-safe cache with a size bound: when full, it is cleared (cheap, and the working set of
/// patterns a policy uses refills it at once). Used for compiled regexes and globs.
/// </summary>
internal sealed class BoundedCache<TKey, TValue>(int capacity) where TKey : notnull
{
    private readonly ConcurrentDictionary<TKey, TValue> _items = new();

    /// <summary>The cached value for <paramref name="key"/>, created with <paramref name="factory"/> when absent.
    /// Exceptions from the factory propagate and nothing is cached.</summary>
    public TValue GetOrAdd(TKey key, Func<TKey, TValue> factory)
    {
        if (_items.TryGetValue(key, out var v)) return v;
        v = factory(key);
        if (_items.Count >= capacity) _items.Clear();
        _items[key] = v;
        return v;
    }

    /// <summary>Number of entries (for tests).</summary>
    public int Count => _items.Count;
}
