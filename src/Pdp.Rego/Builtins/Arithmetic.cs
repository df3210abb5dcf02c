using System.Globalization;
using System.Numerics;
using Pdp.Rego.Values;

namespace Pdp.Rego.Builtins;

/// <summary>
/// Arithmetic as OPA computes it: <c>plus minus mul div rem</c> (the infix operators), <c>abs round ceil floor</c>,
/// <c>numbers.range</c> and <c>numbers.range_step</c>. Integral operands (including integral floats such as
/// <c>4.0</c>) are computed exactly at any size; other operands in decimal where that is exact enough (so
/// <c>0.1 + 0.2 == 0.3</c>, as OPA's arbitrary-precision floats give), else as doubles. Integral float results
/// become integers (<c>1.5 + 2.5</c> is <c>4</c>). <c>minus</c> of two sets is the set difference.
/// </summary>
public static class Arithmetic
{
    private static readonly BuiltinType[] NumNum = [BuiltinType.Number, BuiltinType.Number];
    private static readonly BuiltinType[] Num = [BuiltinType.Number];

    /// <summary>Most elements <c>numbers.range</c> builds (a guard against a policy exhausting memory).</summary>
    public const int MaxRangeLength = 10_000_000;

    /// <summary>Registers the arithmetic built-ins.</summary>
    public static void Register(BuiltinRegistry.Builder b)
    {
        b.Add("plus", 2, static (_, a) => Plus(Operands.Num("plus", a, 0), Operands.Num("plus", a, 1)), NumNum);
        b.Add("minus", 2, static (_, a) => Minus(a), [BuiltinType.Number | BuiltinType.Set, BuiltinType.Number | BuiltinType.Set]);
        b.Add("mul", 2, static (_, a) => Multiply(Operands.Num("mul", a, 0), Operands.Num("mul", a, 1)), NumNum);
        b.Add("div", 2, static (_, a) => Divide(Operands.Num("div", a, 0), Operands.Num("div", a, 1)), NumNum);
        b.Add("rem", 2, static (_, a) => Remainder(Operands.Num("rem", a, 0), Operands.Num("rem", a, 1)), NumNum);
        b.Add("abs", 1, static (_, a) => Abs(Operands.Num("abs", a, 0)), Num);
        b.Add("round", 1, static (_, a) => RoundLike(Operands.Num("round", a, 0), static d => Math.Round(d, MidpointRounding.AwayFromZero)), Num);
        b.Add("ceil", 1, static (_, a) => RoundLike(Operands.Num("ceil", a, 0), Math.Ceiling), Num);
        b.Add("floor", 1, static (_, a) => RoundLike(Operands.Num("floor", a, 0), Math.Floor), Num);
        b.Add("numbers.range", 2, static (c, a) => Range(c, "numbers.range", Operands.BigInt("numbers.range", a, 0), Operands.BigInt("numbers.range", a, 1), BigInteger.One), NumNum);
        b.Add("numbers.range_step", 3, static (c, a) => RangeStep(c, a), [BuiltinType.Number, BuiltinType.Number, BuiltinType.Number]);
    }

    /// <summary><c>a + b</c>.</summary>
    public static NumberValue Plus(NumberValue a, NumberValue b)
    {
        if (a.IsInteger && b.IsInteger) return NumberValue.Add(a, b);
        if (a.TryGetBigInteger(out var x) && b.TryGetBigInteger(out var y)) return NumberValue.FromBigInteger(x + y);
        return FloatOp("plus", a, b, '+');
    }

    /// <summary><c>a - b</c>.</summary>
    public static NumberValue Subtract(NumberValue a, NumberValue b)
    {
        if (a.IsInteger && b.IsInteger) return NumberValue.Subtract(a, b);
        if (a.TryGetBigInteger(out var x) && b.TryGetBigInteger(out var y)) return NumberValue.FromBigInteger(x - y);
        return FloatOp("minus", a, b, '-');
    }

    /// <summary><c>a * b</c>.</summary>
    public static NumberValue Multiply(NumberValue a, NumberValue b)
    {
        if (a.IsInteger && b.IsInteger) return NumberValue.Multiply(a, b);
        if (a.TryGetBigInteger(out var x) && b.TryGetBigInteger(out var y)) return NumberValue.FromBigInteger(x * y);
        return FloatOp("mul", a, b, '*');
    }

    /// <summary><c>a / b</c>: exact when integers divide evenly, else a float. Throws <c>div: divide by zero</c>.</summary>
    public static NumberValue Divide(NumberValue a, NumberValue b)
    {
        if (b.Sign == 0) throw BuiltinException.Error("div", "divide by zero");
        if (a.TryGetInt64(out var x) && b.TryGetInt64(out var y) && y != -1 && x != 0 && x % y == 0) return NumberValue.FromInt64(x / y);
        if (a.IsIntegral && b.IsIntegral && a.TryGetBigInteger(out var bx) && b.TryGetBigInteger(out var by) && !bx.IsZero)
        {
            var q = BigInteger.DivRem(bx, by, out var r);
            if (r.IsZero) return NumberValue.FromBigInteger(q);
        }
        return FloatOp("div", a, b, '/');
    }

    /// <summary><c>a % b</c> on integers (sign of the dividend). Throws <c>modulo by zero</c> and
    /// <c>modulo on floating-point number</c>.</summary>
    public static NumberValue Remainder(NumberValue a, NumberValue b)
    {
        if (!a.TryGetBigInteger(out var x) || !b.TryGetBigInteger(out var y)) throw BuiltinException.Error("rem", "modulo on floating-point number");
        if (y.IsZero) throw BuiltinException.Error("rem", "modulo by zero");
        if (a.TryGetInt64(out var lx) && b.TryGetInt64(out var ly) && ly != -1) return NumberValue.FromInt64(lx % ly);
        return NumberValue.FromBigInteger(BigInteger.Remainder(x, y));
    }

    /// <summary><c>|a|</c>.</summary>
    public static NumberValue Abs(NumberValue a)
    {
        if (a.IsInteger) return NumberValue.Abs(a);
        return NumberValue.FromDoubleNormalized(Math.Abs(a.ToDouble()));
    }

    private static NumberValue RoundLike(NumberValue a, Func<double, double> f)
        => a.IsIntegral ? (a.IsInteger ? a : Normalize(a)) : NumberValue.FromDoubleNormalized(f(a.ToDouble()));

    private static NumberValue Normalize(NumberValue integralDouble)
        => integralDouble.TryGetBigInteger(out var b) ? NumberValue.FromBigInteger(b) : integralDouble;

    private static Value Minus(ReadOnlySpan<Value> a)
    {
        if (a[0] is NumberValue n1 && a[1] is NumberValue n2) return Subtract(n1, n2);
        if (a[0] is SetValue s1 && a[1] is SetValue s2) return s2.Count == 0 ? s1 : s1.Except(s2);
        if (a[0] is not NumberValue && a[0] is not SetValue) throw BuiltinException.OperandType("minus", 1, "one of {number, set}", a[0]);
        if (a[1] is NumberValue) throw BuiltinException.OperandType("minus", 2, "set", a[1]);
        throw BuiltinException.OperandType("minus", 2, "number", a[1]);
    }

    /// <summary>
    /// A float operation. OPA computes with arbitrary-precision floats, so decimal arithmetic (28 digits) is used when
    /// both operands are moderate, falling back to doubles for tiny or huge magnitudes.
    /// </summary>
    internal static NumberValue FloatOp(string builtin, NumberValue a, NumberValue b, char op)
    {
        if (TryDecimal(a, out var x) && TryDecimal(b, out var y))
        {
            try
            {
                decimal r = op switch { '+' => x + y, '-' => x - y, '*' => x * y, _ => x / y };
                if (r == 0m ? (op is '*' or '/') && x == 0m : Math.Abs(r) >= 1e-8m)
                    return NumberValue.FromDoubleNormalized(double.Parse(r.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture));
            }
            catch (OverflowException) { }
        }
        double dx = a.ToDouble(), dy = b.ToDouble();
        double d = op switch { '+' => dx + dy, '-' => dx - dy, '*' => dx * dy, _ => dx / dy };
        if (double.IsNaN(d) || double.IsInfinity(d)) throw BuiltinException.Error(builtin, "arithmetic result out of range");
        return NumberValue.FromDoubleNormalized(d);
    }

    private static bool TryDecimal(NumberValue n, out decimal d)
    {
        if (n.Sign == 0) { d = 0m; return true; }
        var abs = Math.Abs(n.ToDouble());
        if (abs < 1e-8 || abs >= 1e18) { d = 0m; return false; }
        if (n.TryGetInt64(out var l)) { d = l; return true; }
        return decimal.TryParse(n.ToText(), NumberStyles.Float, CultureInfo.InvariantCulture, out d);
    }

    private static Value RangeStep(BuiltinContext c, ReadOnlySpan<Value> a)
    {
        const string name = "numbers.range_step";
        var x = Operands.BigInt(name, a, 0);
        var y = Operands.BigInt(name, a, 1);
        var step = Operands.BigInt(name, a, 2);
        if (step.Sign <= 0) throw new BuiltinException("eval_builtin_error", "numbers.range_step: step must be a positive integer");
        return Range(c, name, x, y, step);
    }

    private static ArrayValue Range(BuiltinContext c, string name, BigInteger x, BigInteger y, BigInteger step)
    {
        var span = BigInteger.Abs(y - x) / step + 1;
        if (span > MaxRangeLength) throw BuiltinException.Error(name, $"range of more than {MaxRangeLength} numbers");
        int n = (int)span;
        var items = new Value[n];
        bool up = x <= y;
        if (x >= long.MinValue / 2 && x <= long.MaxValue / 2 && y >= long.MinValue / 2 && y <= long.MaxValue / 2 && step <= int.MaxValue)
        {
            long v = (long)x, s = up ? (long)step : -(long)step;
            for (int i = 0; i < n; i++, v += s)
            {
                if ((i & 0xffff) == 0xffff) c.CancellationToken.ThrowIfCancellationRequested();
                items[i] = NumberValue.FromInt64(v);
            }
        }
        else
        {
            var v = x;
            var s = up ? step : -step;
            for (int i = 0; i < n; i++, v += s)
            {
                if ((i & 0xffff) == 0xffff) c.CancellationToken.ThrowIfCancellationRequested();
                items[i] = NumberValue.FromBigInteger(v);
            }
        }
        return new ArrayValue(items);
    }
}
