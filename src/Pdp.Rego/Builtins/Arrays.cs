using Pdp.Rego.Values;

namespace Pdp.Rego.Builtins;

/// <summary>
/// Array built-ins: <c>array.concat(a, b)</c>, <c>array.slice(a, start, stop)</c> (indexes clamped to the array, an
/// empty array when start &gt;= stop), <c>array.reverse(a)</c>, <c>array.flatten(a)</c> (one level).
/// </summary>
public static class Arrays
{
    /// <summary>Registers the array built-ins.</summary>
    public static void Register(BuiltinRegistry.Builder b)
    {
        b.Add("array.concat", 2, static (_, a) => Concat(a), [BuiltinType.Array, BuiltinType.Array]);
        b.Add("array.slice", 3, static (_, a) => Slice(a), [BuiltinType.Array, BuiltinType.Number, BuiltinType.Number]);
        b.Add("array.reverse", 1, static (_, a) => Reverse(Operands.Arr("array.reverse", a, 0)), [BuiltinType.Array]);
        b.Add("array.flatten", 1, static (_, a) => Flatten(Operands.Arr("array.flatten", a, 0)), [BuiltinType.Array]);
    }

    private static ArrayValue Concat(ReadOnlySpan<Value> a)
    {
        var x = Operands.Arr("array.concat", a, 0);
        var y = Operands.Arr("array.concat", a, 1);
        if (y.Count == 0) return x;
        if (x.Count == 0) return y;
        var r = new Value[x.Count + y.Count];
        x.Span.CopyTo(r);
        y.Span.CopyTo(r.AsSpan(x.Count));
        return new ArrayValue(r);
    }

    private static ArrayValue Slice(ReadOnlySpan<Value> a)
    {
        var arr = Operands.Arr("array.slice", a, 0);
        long start = Operands.Int("array.slice", a, 1);
        long stop = Operands.Int("array.slice", a, 2);
        if (stop < 0) stop = 0; else if (stop > arr.Count) stop = arr.Count;
        if (start < 0) start = 0; else if (start > stop) start = stop;
        if (start == 0 && stop == arr.Count) return arr;
        return new ArrayValue(arr.Span[(int)start..(int)stop].ToArray());
    }

    private static ArrayValue Reverse(ArrayValue arr)
    {
        var r = new Value[arr.Count];
        for (int i = 0; i < r.Length; i++) r[i] = arr[r.Length - 1 - i];
        return new ArrayValue(r);
    }

    private static ArrayValue Flatten(ArrayValue arr)
    {
        var r = new List<Value>(arr.Count);
        foreach (var v in arr.Span)
        {
            if (v is ArrayValue inner) foreach (var e in inner.Span) r.Add(e);
            else r.Add(v);
        }
        return new ArrayValue(r.ToArray());
    }
}
