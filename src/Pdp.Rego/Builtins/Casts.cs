using System.Globalization;
using Pdp.Rego.Values;

namespace Pdp.Rego.Builtins;

/// <summary>
/// <c>to_number(x)</c>: null is 0, booleans 0 or 1, numbers themselves, strings parsed as Go's <c>ParseFloat</c>
/// accepts decimal numbers (<c>"-1.5e3"</c>; <c>"Inf"</c> and <c>"NaN"</c> are rejected). A string that is not a number
/// is an <c>eval_builtin_error</c> (<c>to_number: strconv.ParseFloat: parsing "x": invalid syntax</c>).
/// </summary>
public static class Casts
{
    /// <summary>Registers <c>to_number</c>.</summary>
    public static void Register(BuiltinRegistry.Builder b)
    {
        b.Add("to_number", 1, static (_, a) => ToNumber(a[0]), [BuiltinType.Null | BuiltinType.Boolean | BuiltinType.Number | BuiltinType.String]);
    }

    /// <summary>Converts <paramref name="v"/> to a number, as described on the class.</summary>
    public static NumberValue ToNumber(Value v)
    {
        switch (v)
        {
            case NullValue: return NumberValue.Zero;
            case BooleanValue bv: return bv.Value ? NumberValue.One : NumberValue.Zero;
            case NumberValue n: return n;
            case StringValue s:
                var text = s.Value;
                var bare = text.TrimStart('+', '-').ToLowerInvariant();
                if (bare is "inf" or "infinity" or "nan") throw BuiltinException.OperandType("to_number", 1, "valid number string", v);
                if (!IsGoDecimalFloat(text)) throw BuiltinException.Error("to_number", $"strconv.ParseFloat: parsing {GoQuote(text)}: invalid syntax");
                var normalized = text[0] == '+' ? text[1..] : text;
                // Go's ParseFloat refuses magnitudes beyond float64.
                if (!double.TryParse(normalized, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) || !double.IsFinite(d))
                    throw BuiltinException.Error("to_number", $"strconv.ParseFloat: parsing {GoQuote(text)}: value out of range");
                if (NumberValue.TryParse(normalized, out var parsed)) return parsed;
                return NumberValue.FromDouble(d);
            default:
                throw BuiltinException.OperandType("to_number", 1, "one of {null, boolean, number, string}", v);
        }
    }

    /// <summary>Go's decimal float syntax: [+-] digits [. digits] [e [+-] digits], with at least one mantissa digit
    /// (underscores are only allowed with base prefixes, which are not supported here).</summary>
    private static bool IsGoDecimalFloat(string s)
    {
        int i = 0;
        if (i < s.Length && (s[i] == '+' || s[i] == '-')) i++;
        int digits = 0;
        while (i < s.Length && char.IsAsciiDigit(s[i])) { i++; digits++; }
        if (i < s.Length && s[i] == '.')
        {
            i++;
            while (i < s.Length && char.IsAsciiDigit(s[i])) { i++; digits++; }
        }
        if (digits == 0) return false;
        if (i < s.Length && (s[i] == 'e' || s[i] == 'E'))
        {
            i++;
            if (i < s.Length && (s[i] == '+' || s[i] == '-')) i++;
            int exp = 0;
            while (i < s.Length && char.IsAsciiDigit(s[i])) { i++; exp++; }
            if (exp == 0) return false;
        }
        return i == s.Length;
    }

    private static string GoQuote(string s) => Sprintf.GoQuote(s);
}
