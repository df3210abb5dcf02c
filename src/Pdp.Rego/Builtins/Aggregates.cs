using System.Numerics;
using Pdp.Rego.Values;

namespace Pdp.Rego.Builtins;

/// <summary>
/// Aggregates: <c>count</c> (arrays, objects, sets, and strings by code point), <c>sum</c> and <c>product</c> (arrays
/// or sets of numbers; exact for integers), <c>max</c> and <c>min</c> (any elements, OPA's total order; undefined
/// when empty), <c>sort</c> (an array or set to a sorted array).
/// </summary>
public static class Aggregates
{
    private static readonly BuiltinType[] ArrOrSet = [BuiltinType.Array | BuiltinType.Set];

    /// <summary>Registers the aggregate built-ins.</summary>
    public static void Register(BuiltinRegistry.Builder b)
    {
        b.Add("count", 1, static (_, a) => Count(a[0]), [BuiltinType.Collection | BuiltinType.String]);
        b.Add("sum", 1, static (_, a) => Accumulate("sum", a[0], sum: true), ArrOrSet);
        b.Add("product", 1, static (_, a) => Accumulate("product", a[0], sum: false), ArrOrSet);
        b.Add("max", 1, static (_, a) => Extreme("max", a[0], max: true), ArrOrSet);
        b.Add("min", 1, static (_, a) => Extreme("min", a[0], max: false), ArrOrSet);
        b.Add("sort", 1, static (_, a) => Sort(a[0]), ArrOrSet);
    }

    /// <summary><c>count(x)</c>: elements, keys, or code points. Throws an operand type error for other values.</summary>
    public static NumberValue Count(Value v) => v switch
    {
        ArrayValue a => NumberValue.FromInt64(a.Count),
        ObjectValue o => NumberValue.FromInt64(o.Count),
        SetValue s => NumberValue.FromInt64(s.Count),
        StringValue s => NumberValue.FromInt64(Operands.CodePointCount(s.Value)),
        _ => throw BuiltinException.OperandType("count", 1, "one of {array, object, set, string}", v),
    };

    private static Value Accumulate(string name, Value v, bool sum)
    {
        var items = Operands.Elements(v, out var ok);
        if (!ok) throw BuiltinException.OperandType(name, 1, "one of {set, array}", v);

        // Integers: 64-bit while it does not overflow, then exact big integers.
        long acc = sum ? 0 : 1;
        int i = 0;
        for (; i < items.Length; i++)
        {
            if (items[i] is not NumberValue n || !n.IsInteger || !n.TryGetInt64(out var x)) break;
            long r;
            if (sum) { r = acc + x; if (((acc ^ r) & (x ^ r)) < 0) break; }
            else { try { r = checked(acc * x); } catch (OverflowException) { break; } }
            acc = r;
        }
        if (i == items.Length) return NumberValue.FromInt64(acc);

        BigInteger big = acc;
        for (; i < items.Length; i++)
        {
            if (items[i] is not NumberValue n || !n.TryGetBigInteger(out var x)) break;
            big = sum ? big + x : big * x;
        }
        if (i == items.Length) return NumberValue.FromBigInteger(big);

        // A fraction (or a non-number, reported below): float accumulation from the start, as OPA does.
        NumberValue total = sum ? NumberValue.Zero : NumberValue.One;
        foreach (var item in items)
        {
            if (item is not NumberValue n) throw Operands.Element(name, 1, v, item, "number");
            total = sum ? Arithmetic.Plus(total, n) : Arithmetic.Multiply(total, n);
        }
        return total;
    }

    private static Value? Extreme(string name, Value v, bool max)
    {
        switch (v)
        {
            case SetValue s:
                if (s.Count == 0) return null;
                return max ? s.Span[^1] : s.Span[0];
            case ArrayValue a:
                if (a.Count == 0) return null;
                var best = a[0];
                for (int i = 1; i < a.Count; i++)
                {
                    // Ties go to the later element, as in OPA (1 and 1.0 are equal but print differently).
                    int c = a[i].CompareTo(best);
                    if (max ? c >= 0 : c <= 0) best = a[i];
                }
                return best;
            default:
                throw BuiltinException.OperandType(name, 1, "one of {set, array}", v);
        }
    }

    private static ArrayValue Sort(Value v)
    {
        switch (v)
        {
            case SetValue s:
                return new ArrayValue(s.Span.ToArray());
            case ArrayValue a:
                if (a.Count <= 1) return a; // already sorted (values are immutable: no copy needed)
                var copy = a.Span.ToArray();
                // Stable, so equal numbers written differently (1 and 1.0) keep their order.
                var keyed = new (Value V, int I)[copy.Length];
                for (int i = 0; i < copy.Length; i++) keyed[i] = (copy[i], i);
                Array.Sort(keyed, static (x, y) => { int c = x.V.CompareTo(y.V); return c != 0 ? c : x.I.CompareTo(y.I); });
                for (int i = 0; i < copy.Length; i++) copy[i] = keyed[i].V;
                return new ArrayValue(copy);
            default:
                throw BuiltinException.OperandType("sort", 1, "one of {set, array}", v);
        }
    }
}
