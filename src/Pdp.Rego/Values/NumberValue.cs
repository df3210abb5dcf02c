using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;

namespace Pdp.Rego.Values;

/// <summary>
/// A Rego number. Integers are exact at any size (64-bit fast path, <see cref="BigInteger"/> beyond); numbers
/// written with a fraction or exponent are IEEE doubles, as OPA's float arithmetic yields. <c>1</c> equals
/// <c>1.0</c>. Arithmetic keeps integers exact: <c>+ - *</c> of integers never overflow, <c>/</c> of integers is
/// exact when it divides evenly, else a double.
/// </summary>
public sealed class NumberValue : Value
{
    // Decimal: an exact non-integer literal a double cannot denote (more digits than a double round-trips, or a
    // magnitude out of double range): _big * 10^-_scale, normalized (no trailing zero digits, _scale > 0), with
    // _double its nearest double. It never equals a value of another representation.
    private enum Rep : byte { Int64, Big, Double, Decimal }

    private readonly Rep _rep;
    private readonly long _long;
    private readonly BigInteger _big;
    private readonly double _double;
    private readonly int _scale;

    private static readonly NumberValue[] SmallInts = Enumerable.Range(-16, 273).Select(i => new NumberValue((long)i)).ToArray();

    private NumberValue(long v) { _rep = Rep.Int64; _long = v; }
    private NumberValue(BigInteger v) { _rep = Rep.Big; _big = v; }
    private NumberValue(double v) { _rep = Rep.Double; _double = v; }
    private NumberValue(BigInteger mantissa, int scale, double approx) { _rep = Rep.Decimal; _big = mantissa; _scale = scale; _double = approx; }

    /// <summary>Zero.</summary>
    public static NumberValue Zero => SmallInts[16];
    /// <summary>One.</summary>
    public static NumberValue One => SmallInts[17];

    /// <summary>An integer.</summary>
    public static NumberValue FromInt64(long v) => v is >= -16 and <= 256 ? SmallInts[v + 16] : new NumberValue(v);
    /// <summary>An integer of any size (stored as 64-bit when it fits).</summary>
    public static NumberValue FromBigInteger(BigInteger v) => v >= long.MinValue && v <= long.MaxValue ? FromInt64((long)v) : new NumberValue(v);
    /// <summary>A double. Throws <see cref="ArgumentException"/> for NaN or infinity, which Rego cannot hold.</summary>
    public static NumberValue FromDouble(double v)
    {
        if (double.IsNaN(v) || double.IsInfinity(v)) throw new ArgumentException("number is not finite", nameof(v));
        return new NumberValue(v);
    }

    /// <summary>A double, or an integer when <paramref name="v"/> is integral and small enough to be exact
    /// (used for results of float arithmetic so that <c>round(2.5)</c> prints as <c>3</c>).</summary>
    public static NumberValue FromDoubleNormalized(double v)
    {
        if (double.IsNaN(v) || double.IsInfinity(v)) throw new ArgumentException("number is not finite", nameof(v));
        if (Math.Floor(v) == v && Math.Abs(v) < 9.007199254740992E15) return FromInt64((long)v);
        return new NumberValue(v);
    }

    /// <summary>Parses a JSON/Rego number literal (<c>-12</c>, <c>3.5</c>, <c>1e3</c>, big integers exactly).
    /// Throws <see cref="FormatException"/> on anything else.</summary>
    public static NumberValue Parse(string text)
    {
        if (TryParse(text, out var n)) return n;
        throw new FormatException($"invalid number: {text}");
    }

    /// <summary>Parses a number literal; false when <paramref name="text"/> is not one.</summary>
    public static bool TryParse(string text, out NumberValue value)
    {
        value = Zero;
        if (string.IsNullOrEmpty(text)) return false;
        bool isInt = true;
        foreach (var c in text)
        {
            if (c is '.' or 'e' or 'E') { isInt = false; break; }
        }
        if (isInt)
        {
            if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)) { value = FromInt64(l); return true; }
            if (BigInteger.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var b)) { value = FromBigInteger(b); return true; }
            return false;
        }
        if (!TryParseDecimal(text, out var mant, out var scale)) return false;
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d) && (d != 0 || mant.IsZero))
        {
            // An exponent form that denotes an exact integer (1e3) stays an exact integer, as OPA's big numbers do.
            if (Math.Floor(d) == d && Math.Abs(d) < 9.007199254740992E15 && !text.Contains('.')) { value = FromInt64((long)d); return true; }
            // Beyond double precision (1e30), compute the integer exactly from the digits: 1e30 + 1 must be exact.
            if (scale <= 0 && !text.Contains('.') && -scale <= MaxExactExponent) { value = FromBigInteger(mant * BigInteger.Pow(10, -scale)); return true; }
            // A double when it denotes the literal exactly (its shortest form has the same digits), else an exact decimal.
            if (scale <= 0 || RoundTrips(d, mant, scale)) { value = new NumberValue(d); return true; }
            value = new NumberValue(mant, scale, d);
            return true;
        }
        // Out of double range (1e400, 1e-400): exact.
        if (Math.Abs((long)scale) > MaxExactExponent) return false;
        if (scale <= 0) { value = FromBigInteger(mant * BigInteger.Pow(10, -scale)); return true; }
        value = new NumberValue(mant, scale, double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var approx) && double.IsFinite(approx) ? approx : 0);
        return true;
    }

    /// <summary>Largest decimal exponent kept exactly (larger literals are refused).</summary>
    private const int MaxExactExponent = 10_000;

    /// <summary>Parses [sign] digits [. digits] [e [sign] digits] into mantissa * 10^-scale with trailing zero digits
    /// removed (scale may be negative for integers such as 1e3).</summary>
    private static bool TryParseDecimal(string text, out BigInteger mantissa, out int scale)
    {
        mantissa = default; scale = 0;
        int i = 0;
        bool neg = false;
        if (i < text.Length && (text[i] == '-' || text[i] == '+')) { neg = text[i] == '-'; i++; }
        var digits = new StringBuilder(text.Length);
        int frac = 0, count = 0;
        bool dot = false;
        for (; i < text.Length; i++)
        {
            char c = text[i];
            if (c >= '0' && c <= '9') { digits.Append(c); count++; if (dot) frac++; }
            else if (c == '.' && !dot) dot = true;
            else break;
        }
        if (count == 0) return false;
        long exp = 0;
        if (i < text.Length && (text[i] == 'e' || text[i] == 'E'))
        {
            i++;
            bool eneg = false;
            if (i < text.Length && (text[i] == '+' || text[i] == '-')) { eneg = text[i] == '-'; i++; }
            int start = i;
            while (i < text.Length && text[i] >= '0' && text[i] <= '9')
            {
                if (exp < 1_000_000_000) exp = exp * 10 + (text[i] - '0');
                i++;
            }
            if (i == start) return false;
            if (eneg) exp = -exp;
        }
        if (i != text.Length) return false;
        long sc = frac - exp;
        int end = digits.Length;
        while (end > 1 && digits[end - 1] == '0') { end--; sc--; }
        mantissa = BigInteger.Parse(digits.ToString(0, end), CultureInfo.InvariantCulture);
        if (mantissa.IsZero) { scale = 0; return true; }
        if (sc > int.MaxValue / 2 || sc < int.MinValue / 2) { scale = sc > 0 ? int.MaxValue / 2 : int.MinValue / 2; }
        else scale = (int)sc;
        if (neg) mantissa = -mantissa;
        return true;
    }

    /// <summary>True when the shortest round-trip form of <paramref name="d"/> is mantissa * 10^-scale.</summary>
    private static bool RoundTrips(double d, BigInteger mantissa, int scale)
        => TryParseDecimal(d.ToString("R", CultureInfo.InvariantCulture), out var m, out var sc) && m == mantissa && sc == scale;

    /// <summary>Digits "e" non-negative exponent (at most 400) as an exact integer.</summary>
    private static bool TryParseExactExponent(string text, out BigInteger value)
    {
        value = default;
        int e = text.IndexOfAny(['e', 'E']);
        if (e <= 0) return false;
        if (!BigInteger.TryParse(text.AsSpan(0, e), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var mantissa)) return false;
        if (!int.TryParse(text.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var exp) || exp < 0 || exp > 400) return false;
        value = mantissa * BigInteger.Pow(10, exp);
        return true;
    }

    public override ValueKind Kind => ValueKind.Number;

    /// <summary>True when the number was written or computed as an integer (not a double).</summary>
    public bool IsInteger => _rep is Rep.Int64 or Rep.Big;

    /// <summary>True when the value is a whole number (an integer, or an integral double).</summary>
    public bool IsIntegral => _rep is Rep.Int64 or Rep.Big || (_rep == Rep.Double && Math.Floor(_double) == _double);

    /// <summary>The value as a 64-bit integer when it is integral and fits.</summary>
    public bool TryGetInt64(out long v)
    {
        switch (_rep)
        {
            case Rep.Int64: v = _long; return true;
            case Rep.Big: v = 0; return false;
            case Rep.Decimal: v = 0; return false;
            default:
                if (Math.Floor(_double) == _double && _double >= -9.2233720368547758E18 && _double < 9.2233720368547758E18) { v = (long)_double; return true; }
                v = 0; return false;
        }
    }

    /// <summary>The value as a 32-bit integer when it is integral and fits.</summary>
    public bool TryGetInt32(out int v)
    {
        if (TryGetInt64(out var l) && l is >= int.MinValue and <= int.MaxValue) { v = (int)l; return true; }
        v = 0; return false;
    }

    /// <summary>The value as a big integer when it is integral.</summary>
    public bool TryGetBigInteger(out BigInteger v)
    {
        switch (_rep)
        {
            case Rep.Int64: v = _long; return true;
            case Rep.Big: v = _big; return true;
            case Rep.Decimal: v = default; return false;
            default:
                if (Math.Floor(_double) == _double) { v = new BigInteger(_double); return true; }
                v = default; return false;
        }
    }

    /// <summary>The value as a double (big integers may lose precision).</summary>
    public double ToDouble() => _rep switch { Rep.Int64 => _long, Rep.Big => (double)_big, _ => _double };

    /// <summary>-1, 0 or 1.</summary>
    public int Sign => _rep switch { Rep.Int64 => Math.Sign(_long), Rep.Big or Rep.Decimal => _big.Sign, _ => Math.Sign(_double) };

    // ------------------------------------------------------------------ arithmetic

    /// <summary><c>a + b</c>, exact for integers.</summary>
    public static NumberValue Add(NumberValue a, NumberValue b)
    {
        if (a._rep == Rep.Int64 && b._rep == Rep.Int64)
        {
            long r = a._long + b._long;
            if (((a._long ^ r) & (b._long ^ r)) >= 0) return FromInt64(r);
        }
        if (a.IsInteger && b.IsInteger) return FromBigInteger(a.Big + b.Big);
        return Float(a.ToDouble() + b.ToDouble());
    }

    /// <summary><c>a - b</c>, exact for integers.</summary>
    public static NumberValue Subtract(NumberValue a, NumberValue b)
    {
        if (a._rep == Rep.Int64 && b._rep == Rep.Int64)
        {
            long r = a._long - b._long;
            if (((a._long ^ b._long) & (a._long ^ r)) >= 0) return FromInt64(r);
        }
        if (a.IsInteger && b.IsInteger) return FromBigInteger(a.Big - b.Big);
        return Float(a.ToDouble() - b.ToDouble());
    }

    /// <summary><c>a * b</c>, exact for integers.</summary>
    public static NumberValue Multiply(NumberValue a, NumberValue b)
    {
        if (a._rep == Rep.Int64 && b._rep == Rep.Int64)
        {
            long r;
            try { r = checked(a._long * b._long); return FromInt64(r); }
            catch (OverflowException) { }
        }
        if (a.IsInteger && b.IsInteger) return FromBigInteger(a.Big * b.Big);
        return Float(a.ToDouble() * b.ToDouble());
    }

    /// <summary><c>a / b</c>: exact when integers divide evenly, else a double. Null when <paramref name="b"/> is zero.</summary>
    public static NumberValue? Divide(NumberValue a, NumberValue b)
    {
        if (b.Sign == 0) return null;
        if (a.IsInteger && b.IsInteger)
        {
            var q = BigInteger.DivRem(a.Big, b.Big, out var rem);
            if (rem.IsZero) return FromBigInteger(q);
        }
        return Float(a.ToDouble() / b.ToDouble());
    }

    /// <summary><c>a % b</c> for integers (sign of the dividend, as Go). Null when <paramref name="b"/> is zero;
    /// throws <see cref="InvalidOperationException"/> when either operand is not integral.</summary>
    public static NumberValue? Remainder(NumberValue a, NumberValue b)
    {
        if (!a.IsIntegral || !b.IsIntegral) throw new InvalidOperationException("modulo on floating-point number");
        if (b.Sign == 0) return null;
        if (a.TryGetInt64(out var x) && b.TryGetInt64(out var y) && !(x == long.MinValue && y == -1)) return FromInt64(x % y);
        a.TryGetBigInteger(out var ba); b.TryGetBigInteger(out var bb);
        return FromBigInteger(BigInteger.Remainder(ba, bb));
    }

    /// <summary><c>-a</c>.</summary>
    public static NumberValue Negate(NumberValue a) => a._rep switch
    {
        Rep.Int64 when a._long != long.MinValue => FromInt64(-a._long),
        Rep.Double => new NumberValue(-a._double),
        Rep.Decimal => new NumberValue(-a._big, a._scale, -a._double),
        _ => FromBigInteger(-a.Big),
    };

    /// <summary><c>|a|</c>.</summary>
    public static NumberValue Abs(NumberValue a) => a.Sign < 0 ? Negate(a) : a;

    private BigInteger Big => _rep == Rep.Int64 ? _long : _big;

    private static NumberValue Float(double d)
    {
        if (double.IsNaN(d) || double.IsInfinity(d)) throw new OverflowException("arithmetic result is not a finite number");
        return new NumberValue(d);
    }

    // ------------------------------------------------------------------ equality, order, output

    public override bool Equals(Value? other) => other is NumberValue n && Compare(this, n) == 0;

    public override int GetHashCode()
    {
        switch (_rep)
        {
            case Rep.Int64: return _long.GetHashCode();
            case Rep.Big: return _big.GetHashCode();
            case Rep.Decimal: return HashCode.Combine(_big, _scale);
            default:
                if (TryGetInt64(out var l)) return l.GetHashCode();
                if (Math.Floor(_double) == _double) return new BigInteger(_double).GetHashCode();
                return _double.GetHashCode();
        }
    }

    private protected override int CompareSameKind(Value other) => Compare(this, (NumberValue)other);

    /// <summary>Numeric comparison across representations.</summary>
    public static int Compare(NumberValue a, NumberValue b)
    {
        if (a._rep == Rep.Int64 && b._rep == Rep.Int64) return a._long.CompareTo(b._long);
        if (a._rep == Rep.Decimal || b._rep == Rep.Decimal) return CompareExact(a, b);
        if (a._rep != Rep.Double && b._rep != Rep.Double) return a.Big.CompareTo(b.Big);
        double x = a.ToDouble(), y = b.ToDouble();
        int c = x.CompareTo(y);
        if (c != 0) return c;
        // Equal as doubles: decide exactly when an integer operand is beyond double precision.
        if (a._rep != Rep.Double && Math.Abs(x) >= 9.007199254740992E15) return a.Big.CompareTo(new BigInteger(y));
        if (b._rep != Rep.Double && Math.Abs(y) >= 9.007199254740992E15) return new BigInteger(x).CompareTo(b.Big);
        return 0;
    }

    /// <summary>Exact comparison as decimals (a double counts as its shortest round-trip form).</summary>
    private static int CompareExact(NumberValue a, NumberValue b)
    {
        a.ToExact(out var ma, out var sa);
        b.ToExact(out var mb, out var sb);
        int sign = ma.Sign.CompareTo(mb.Sign);
        if (sign != 0 || ma.IsZero) return sign;
        // Orders of magnitude first, so that far-apart exponents need no huge powers of ten.
        long magA = ma.GetBitLength() * 30103L / 100000 - sa, magB = mb.GetBitLength() * 30103L / 100000 - sb;
        if (Math.Abs(magA - magB) > 2) return (magA > magB ? 1 : -1) * ma.Sign;
        int s = Math.Max(sa, sb);
        return (ma * BigInteger.Pow(10, s - sa)).CompareTo(mb * BigInteger.Pow(10, s - sb));
    }

    private void ToExact(out BigInteger mantissa, out int scale)
    {
        switch (_rep)
        {
            case Rep.Int64: mantissa = _long; scale = 0; return;
            case Rep.Big: mantissa = _big; scale = 0; return;
            case Rep.Decimal: mantissa = _big; scale = _scale; return;
            default:
                if (!TryParseDecimal(_double.ToString("R", CultureInfo.InvariantCulture), out mantissa, out scale)) { mantissa = BigInteger.Zero; scale = 0; }
                return;
        }
    }

    /// <summary>The number's text as OPA prints it: integers in full, doubles shortest round-trip (integral
    /// doubles below 1e21 without a fraction, as Go's JSON encoder does).</summary>
    public string ToText()
    {
        switch (_rep)
        {
            case Rep.Int64: return _long.ToString(CultureInfo.InvariantCulture);
            case Rep.Big: return _big.ToString(CultureInfo.InvariantCulture);
            case Rep.Decimal:
            {
                var digits = BigInteger.Abs(_big).ToString(CultureInfo.InvariantCulture);
                var sign = _big.Sign < 0 ? "-" : "";
                if (_scale <= 40)
                {
                    var padded = digits.PadLeft(_scale + 1, '0');
                    return sign + padded[..^_scale] + "." + padded[^_scale..];
                }
                int exp = digits.Length - 1 - _scale;
                return sign + digits[0] + (digits.Length > 1 ? "." + digits[1..] : "") + "e" + exp.ToString(CultureInfo.InvariantCulture);
            }
            default:
                var d = _double;
                if (Math.Floor(d) == d && Math.Abs(d) < 1e21) return new BigInteger(d).ToString(CultureInfo.InvariantCulture);
                var abs = Math.Abs(d);
                if (abs >= 1e-6 && abs < 1e21)
                {
                    var s = d.ToString("R", CultureInfo.InvariantCulture);
                    if (!s.Contains('E')) return s;
                    return ((decimal)d).ToString(CultureInfo.InvariantCulture);
                }
                return d.ToString("R", CultureInfo.InvariantCulture).Replace("E", "e");
        }
    }

    public override void WriteJson(Utf8JsonWriter writer)
    {
        if (_rep == Rep.Int64) writer.WriteNumberValue(_long);
        else writer.WriteRawValue(ToText(), skipInputValidation: true);
    }

    public override void AppendRego(StringBuilder sb) => sb.Append(ToText());
}
