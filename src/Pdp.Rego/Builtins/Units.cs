using System.Globalization;
using System.Numerics;
using Pdp.Rego.Values;

namespace Pdp.Rego.Builtins;

/// <summary>
/// <c>units.parse(x)</c> (SI and binary suffixes as Kubernetes quantities: <c>m k/K M g/G t/T p/P e/E</c> and
/// <c>Ki Mi Gi Ti Pi Ei</c>; case matters only for <c>m</c> versus <c>M</c>; exact, fractions rounded to 10 decimals)
/// and <c>units.parse_bytes(x)</c> (case-insensitive <c>kb k kib ki ... eb e eib ei</c>; truncated to an integer).
/// Quotes are ignored; spaces, a missing amount, an unknown unit or a malformed number are
/// <c>eval_builtin_error</c>s with OPA's messages.
/// </summary>
public static class Units
{
    /// <summary>Largest decimal exponent accepted in the amount (OPA limits the exponent to 6 digits; this bound keeps
    /// the exact computation cheap).</summary>
    public const int MaxExponent = 100_000;

    /// <summary>Registers the unit parsers.</summary>
    public static void Register(BuiltinRegistry.Builder b)
    {
        b.Add("units.parse", 1, static (_, a) => Parse(Operands.Str("units.parse", a, 0)), [BuiltinType.String]);
        b.Add("units.parse_bytes", 1, static (_, a) => ParseBytes(Operands.Str("units.parse_bytes", a, 0)), [BuiltinType.String]);
    }

    private static BuiltinException Fail(string name, string message) => new("eval_builtin_error", $"{name}: {message}");

    /// <summary><c>units.parse</c>.</summary>
    public static NumberValue Parse(string raw)
    {
        const string name = "units.parse";
        var s = raw.Replace("\"", "");
        if (s.Contains(' ')) throw Fail(name, "spaces not allowed in resource strings");
        var (num, unit) = Extract(name, s);
        if (num.Length == 0) throw Fail(name, "no amount provided");
        if (unit.Length > 1) unit = unit[..1] + unit[1..].ToLowerInvariant();
        // Multiplier as a fraction numerator/denominator.
        BigInteger mulNum, mulDen = BigInteger.One;
        switch (unit)
        {
            case "m": mulNum = BigInteger.One; mulDen = 1000; break;
            case "": mulNum = BigInteger.One; break;
            case "k" or "K": mulNum = BigInteger.Pow(1000, 1); break;
            case "ki" or "Ki": mulNum = BigInteger.One << 10; break;
            case "M": mulNum = BigInteger.Pow(1000, 2); break;
            case "mi" or "Mi": mulNum = BigInteger.One << 20; break;
            case "g" or "G": mulNum = BigInteger.Pow(1000, 3); break;
            case "gi" or "Gi": mulNum = BigInteger.One << 30; break;
            case "t" or "T": mulNum = BigInteger.Pow(1000, 4); break;
            case "ti" or "Ti": mulNum = BigInteger.One << 40; break;
            case "p" or "P": mulNum = BigInteger.Pow(1000, 5); break;
            case "pi" or "Pi": mulNum = BigInteger.One << 50; break;
            case "e" or "E": mulNum = BigInteger.Pow(1000, 6); break;
            case "ei" or "Ei": mulNum = BigInteger.One << 60; break;
            default: throw Fail(name, $"unit {unit} not recognized");
        }
        if (!TryParseRational(num, out var n, out var d)) throw Fail(name, "could not parse amount to a number");
        n *= mulNum;
        d *= mulDen;
        var q = BigInteger.DivRem(n, d, out var rem);
        if (rem.IsZero) return NumberValue.FromBigInteger(q);
        // Not an integer: OPA prints the fraction with 10 decimals (rounded half away from zero) and reads it back.
        var scaled = n * BigInteger.Pow(10, 10);
        var (sq, srem) = BigInteger.DivRem(scaled, d);
        if (BigInteger.Abs(srem) * 2 >= BigInteger.Abs(d)) sq += (scaled.Sign < 0) != (d.Sign < 0) ? -1 : 1;
        var text = FixedPoint(sq, 10);
        return NumberValue.Parse(text);
    }

    /// <summary><c>units.parse_bytes</c>.</summary>
    public static NumberValue ParseBytes(string raw)
    {
        const string name = "units.parse_bytes";
        var s = raw.ToLowerInvariant().Replace("\"", "");
        if (s.Contains(' ')) throw Fail(name, "spaces not allowed in resource strings");
        var (num, unit) = Extract(name, s);
        if (num.Length == 0) throw Fail(name, "no byte amount provided");
        BigInteger mul = unit switch
        {
            "" => BigInteger.One,
            "kb" or "k" => BigInteger.Pow(1000, 1),
            "kib" or "ki" => BigInteger.One << 10,
            "mb" or "m" => BigInteger.Pow(1000, 2),
            "mib" or "mi" => BigInteger.One << 20,
            "gb" or "g" => BigInteger.Pow(1000, 3),
            "gib" or "gi" => BigInteger.One << 30,
            "tb" or "t" => BigInteger.Pow(1000, 4),
            "tib" or "ti" => BigInteger.One << 40,
            "pb" or "p" => BigInteger.Pow(1000, 5),
            "pib" or "pi" => BigInteger.One << 50,
            "eb" or "e" => BigInteger.Pow(1000, 6),
            "eib" or "ei" => BigInteger.One << 60,
            _ => throw Fail(name, $"byte unit {unit} not recognized"),
        };
        if (!TryParseRational(num, out var n, out var d)) throw Fail(name, "could not parse byte amount to a number");
        // Truncated toward zero, as big.Float.Int does.
        return NumberValue.FromBigInteger(BigInteger.Divide(n * mul, d));
    }

    /// <summary>Splits "10.5Ki" into "10.5" and "Ki": the amount is the leading run of digits, dots, signs and a
    /// well-formed exponent (an 'e' followed by a digit or sign; otherwise the 'e' starts the unit).</summary>
    private static (string Num, string Unit) Extract(string name, string s)
    {
        int firstNonNum = -1;
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            bool isNum = char.IsDigit(c) || c == '.';
            if (!isNum && c != 'e' && c != 'E' && c != '+' && c != '-') { firstNonNum = i; break; }
            if (c is 'e' or 'E')
            {
                if (i == s.Length - 1 || (!char.IsDigit(s[i + 1]) && s[i + 1] != '+' && s[i + 1] != '-')) { firstNonNum = i; break; }
                if (s[i + 1] is '+' or '-') i++;
                int expStart = i + 1, expEnd = expStart;
                while (expEnd < s.Length && char.IsDigit(s[expEnd])) expEnd++;
                if (expEnd - expStart > 6) throw Fail(name, "exponent too large");
            }
        }
        if (firstNonNum == -1) return (s, "");
        if (firstNonNum == 0) return ("", s);
        return (s[..firstNonNum], s[firstNonNum..]);
    }

    /// <summary>Parses a decimal number (sign, digits, optional fraction, optional exponent) exactly as a fraction.</summary>
    private static bool TryParseRational(string s, out BigInteger num, out BigInteger den)
    {
        num = BigInteger.Zero; den = BigInteger.One;
        int i = 0;
        bool neg = false;
        if (i < s.Length && (s[i] == '+' || s[i] == '-')) { neg = s[i] == '-'; i++; }
        var digits = new System.Text.StringBuilder();
        int fracDigits = 0, count = 0;
        bool dot = false;
        for (; i < s.Length; i++)
        {
            char c = s[i];
            if (c >= '0' && c <= '9') { digits.Append(c); count++; if (dot) fracDigits++; }
            else if (c == '.' && !dot) dot = true;
            else break;
        }
        if (count == 0) return false;
        long exp = 0;
        if (i < s.Length && (s[i] == 'e' || s[i] == 'E'))
        {
            i++;
            bool eneg = false;
            if (i < s.Length && (s[i] == '+' || s[i] == '-')) { eneg = s[i] == '-'; i++; }
            int start = i;
            while (i < s.Length && s[i] >= '0' && s[i] <= '9' && i - start < 9) { exp = exp * 10 + (s[i] - '0'); i++; }
            if (i == start) return false;
            if (eneg) exp = -exp;
        }
        if (i != s.Length) return false;
        exp -= fracDigits;
        if (Math.Abs(exp) > MaxExponent) return false;
        num = BigInteger.Parse(digits.ToString(), CultureInfo.InvariantCulture);
        if (neg) num = -num;
        if (exp >= 0) num *= BigInteger.Pow(10, (int)exp);
        else den = BigInteger.Pow(10, (int)-exp);
        return true;
    }

    private static string FixedPoint(BigInteger scaled, int decimals)
    {
        bool neg = scaled.Sign < 0;
        var digits = BigInteger.Abs(scaled).ToString(CultureInfo.InvariantCulture).PadLeft(decimals + 1, '0');
        return (neg ? "-" : "") + digits[..^decimals] + "." + digits[^decimals..];
    }
}
