using System.Globalization;
using System.Numerics;
using System.Text;
using Pdp.Rego.Values;

namespace Pdp.Rego.Builtins;

/// <summary>
/// <c>sprintf(format, values)</c> with Go's <c>fmt</c> semantics as OPA feeds it: integers are Go ints (or big
/// integers beyond 64 bits, which also accept <c>%s</c>/<c>%v</c>), other numbers float64, strings Go strings, and
/// every other value its Rego text (<c>true</c>, <c>null</c>, <c>[1, "a"]</c>, <c>{"a": 1}</c>, <c>{1, 2}</c>,
/// <c>set()</c>). Supports flags <c>+ - # 0 space</c>, width, precision, and verbs <c>v s d b o O x X c q U e E f F g
/// G t %</c>; mismatches print Go's <c>%!d(string=x)</c>, <c>%!d(MISSING)</c> and <c>%!(EXTRA int=1)</c>.
/// </summary>
public static class Sprintf
{
    /// <summary>Registers <c>sprintf</c>.</summary>
    public static void Register(BuiltinRegistry.Builder b)
    {
        b.Add("sprintf", 2, static (_, a) => Format(a), [BuiltinType.String, BuiltinType.Array]);
    }

    private static Value Format(ReadOnlySpan<Value> a)
    {
        var format = Operands.Str("sprintf", a, 0);
        if (a[1] is not ArrayValue arr) throw BuiltinException.OperandType("sprintf", 2, "array", a[1]);
        // Fast path: sprintf("%d", [int]) is a common to-string idiom.
        if (format == "%d" && arr.Count == 1 && arr[0] is NumberValue n && n.IsInteger) return new StringValue(n.ToText());
        if (format == "%s" && arr.Count == 1 && arr[0] is StringValue s) return s;
        // Operands and the text are built in per-thread buffers: only the result string is allocated.
        var rented = arr.Count == 0 ? null : System.Buffers.ArrayPool<Arg>.Shared.Rent(arr.Count);
        var sb = t_builder ?? new StringBuilder(256);
        t_builder = null; // a nested sprintf (none today) would get its own builder
        try
        {
            var args = rented.AsSpan(0, arr.Count);
            for (int i = 0; i < args.Length; i++) args[i] = Arg.From(arr[i]);
            Format(sb, format, args);
            return new StringValue(sb.ToString());
        }
        finally
        {
            if (rented is not null) System.Buffers.ArrayPool<Arg>.Shared.Return(rented, clearArray: true);
            if (sb.Capacity <= 4096) { sb.Clear(); t_builder = sb; }
        }
    }

    [ThreadStatic] private static StringBuilder? t_builder;

    private enum ArgKind { Int, Big, Float, Str }

    private readonly record struct Arg(ArgKind Kind, long I, BigInteger B, double F, string S)
    {
        public static Arg From(Value v) => v switch
        {
            NumberValue n when n.IsInteger && n.TryGetInt64(out var l) => new Arg(ArgKind.Int, l, default, 0, ""),
            NumberValue n when n.IsInteger && n.TryGetBigInteger(out var b) => new Arg(ArgKind.Big, 0, b, 0, ""),
            NumberValue n => new Arg(ArgKind.Float, 0, default, n.ToDouble(), ""),
            StringValue s => new Arg(ArgKind.Str, 0, default, 0, s.Value),
            _ => new Arg(ArgKind.Str, 0, default, 0, v.ToString()),
        };

        public string GoType => Kind switch { ArgKind.Int => "int", ArgKind.Big => "*big.Int", ArgKind.Float => "float64", _ => "string" };
    }

    private struct Spec
    {
        public bool Plus, Minus, Sharp, Zero, Space;
        public int Width; // -1 = none
        public int Prec;  // -1 = none
        public char Verb;
    }

    private static void Format(StringBuilder sb, string format, ReadOnlySpan<Arg> args)
    {
        int argi = 0;
        int i = 0;
        while (i < format.Length)
        {
            char c = format[i];
            if (c != '%') { sb.Append(c); i++; continue; }
            i++;
            if (i >= format.Length) { sb.Append("%!(NOVERB)"); break; }
            var spec = new Spec { Width = -1, Prec = -1 };
            for (; i < format.Length; i++)
            {
                switch (format[i])
                {
                    case '+': spec.Plus = true; continue;
                    case '-': spec.Minus = true; spec.Zero = false; continue;
                    case '#': spec.Sharp = true; continue;
                    case '0': spec.Zero = !spec.Minus; continue;
                    case ' ': spec.Space = true; continue;
                }
                break;
            }
            if (i < format.Length && format[i] == '*')
            {
                i++;
                if (argi < args.Length && args[argi].Kind == ArgKind.Int && Math.Abs(args[argi].I) <= 1_000_000)
                {
                    spec.Width = (int)Math.Abs(args[argi].I);
                    if (args[argi].I < 0) { spec.Minus = true; spec.Zero = false; }
                }
                else sb.Append("%!(BADWIDTH)");
                argi++;
            }
            else
            {
                spec.Width = ReadNumber(format, ref i);
                // Go refuses widths and precisions beyond 10^6.
                if (spec.Width > 1_000_000) { sb.Append("%!(BADWIDTH)"); spec.Width = -1; }
            }
            if (i < format.Length && format[i] == '.')
            {
                i++;
                if (i < format.Length && format[i] == '*')
                {
                    i++;
                    if (argi < args.Length && args[argi].Kind == ArgKind.Int && args[argi].I >= 0 && args[argi].I <= 1_000_000) spec.Prec = (int)args[argi].I;
                    else sb.Append("%!(BADPREC)");
                    argi++;
                }
                else
                {
                    spec.Prec = Math.Max(0, ReadNumber(format, ref i));
                    if (spec.Prec > 1_000_000) { sb.Append("%!(BADPREC)"); spec.Prec = -1; }
                }
            }
            if (i >= format.Length) { sb.Append("%!(NOVERB)"); break; }
            spec.Verb = format[i++];
            if (spec.Verb == '%') { sb.Append('%'); continue; }
            if (argi >= args.Length) { sb.Append("%!").Append(spec.Verb).Append("(MISSING)"); continue; }
            FormatArg(sb, spec, args[argi++]);
        }
        if (argi < args.Length)
        {
            sb.Append("%!(EXTRA ");
            for (int k = argi; k < args.Length; k++)
            {
                if (k > argi) sb.Append(", ");
                sb.Append(args[k].GoType).Append('=');
                FormatArg(sb, new Spec { Width = -1, Prec = -1, Verb = 'v' }, args[k]);
            }
            sb.Append(')');
        }
    }

    private static int ReadNumber(string s, ref int i)
    {
        int start = i, n = 0;
        while (i < s.Length && char.IsAsciiDigit(s[i]))
        {
            n = n < 10_000_000 ? n * 10 + (s[i] - '0') : n;
            i++;
        }
        return i == start ? -1 : n;
    }

    private static void FormatArg(StringBuilder sb, Spec spec, Arg arg)
    {
        switch (arg.Kind)
        {
            case ArgKind.Int: FormatInteger(sb, spec, arg.I, arg, isBig: false); break;
            case ArgKind.Big: FormatInteger(sb, spec, arg.B, arg, isBig: true); break;
            case ArgKind.Float: FormatFloat(sb, spec, arg); break;
            default: FormatString(sb, spec, arg); break;
        }
    }

    private static void BadVerb(StringBuilder sb, Spec spec, Arg arg)
    {
        sb.Append("%!").Append(spec.Verb).Append('(').Append(arg.Kind == ArgKind.Big ? "big.Int" : arg.GoType).Append('=');
        FormatArg(sb, new Spec { Width = -1, Prec = -1, Verb = 'v' }, arg);
        sb.Append(')');
    }

    private static void Pad(StringBuilder sb, Spec spec, string body, bool zeroAllowed)
    {
        int pad = spec.Width - Operands.CodePointCount(body);
        if (pad <= 0) { sb.Append(body); return; }
        if (spec.Minus) { sb.Append(body).Append(' ', pad); return; }
        if (spec.Zero && zeroAllowed)
        {
            // Zeros go after the sign.
            int signLen = body.Length > 0 && (body[0] is '-' or '+' or ' ') ? 1 : 0;
            sb.Append(body, 0, signLen).Append('0', pad).Append(body, signLen, body.Length - signLen);
            return;
        }
        sb.Append(' ', pad).Append(body);
    }

    private static void FormatInteger(StringBuilder sb, Spec spec, BigInteger value, Arg arg, bool isBig)
    {
        int radix;
        string prefix = "";
        switch (spec.Verb)
        {
            case 'd': case 'v': radix = 10; break;
            case 's' when isBig: radix = 10; break;
            case 'b': radix = 2; if (spec.Sharp) prefix = "0b"; break;
            case 'o': radix = 8; if (spec.Sharp) prefix = "0"; break;
            case 'O': radix = 8; prefix = "0o"; break;
            case 'x': radix = 16; if (spec.Sharp) prefix = "0x"; break;
            case 'X': radix = 16; if (spec.Sharp) prefix = "0X"; break;
            case 'c' when !isBig:
                Pad(sb, spec, RuneString(value), false);
                return;
            case 'q' when !isBig:
                Pad(sb, spec, "'" + QuoteRune(value) + "'", false);
                return;
            case 'U' when !isBig:
                var hex = Strings.FormatBig(value, 16, upper: true);
                Pad(sb, spec, "U+" + hex.PadLeft(4, '0'), false);
                return;
            default:
                BadVerb(sb, spec, arg);
                return;
        }
        bool neg = value.Sign < 0;
        string digits = Strings.FormatBig(BigInteger.Abs(value), radix, upper: spec.Verb == 'X');
        if (spec.Prec >= 0)
        {
            if (spec.Prec == 0 && value.IsZero) digits = "";
            else if (digits.Length < spec.Prec) digits = new string('0', spec.Prec - digits.Length) + digits;
        }
        string sign = neg ? "-" : spec.Plus ? "+" : spec.Space ? " " : "";
        // With a precision, Go pads with spaces even when the 0 flag is set.
        bool zero = spec.Zero && spec.Prec < 0 && !spec.Minus;
        if (zero && spec.Width > 0)
        {
            int pad = spec.Width - sign.Length - prefix.Length - digits.Length;
            if (pad > 0) digits = new string('0', pad) + digits;
        }
        Pad(sb, spec with { Zero = false }, sign + prefix + digits, false);
    }

    private static string RuneString(BigInteger value)
    {
        if (value < 0 || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) return "\uFFFD";
        return char.ConvertFromUtf32((int)value);
    }

    private static string QuoteRune(BigInteger value)
    {
        var s = RuneString(value);
        if (s == "'") return "\\'";
        if (s == "\"") return "\"";
        var q = GoQuote(s);
        return q[1..^1];
    }

    private static void FormatString(StringBuilder sb, Spec spec, Arg arg)
    {
        var s = arg.S;
        switch (spec.Verb)
        {
            case 'v':
            case 's':
                if (spec.Prec >= 0 && spec.Prec < s.Length) s = s[..Operands.CodePointToIndex(s, spec.Prec)];
                Pad(sb, spec, s, false);
                return;
            case 'q':
                Pad(sb, spec, spec.Sharp && !s.Contains('`') && !HasControl(s) ? "`" + s + "`" : GoQuote(s), false);
                return;
            case 'x':
            case 'X':
                var bytes = Encoding.UTF8.GetBytes(s);
                if (spec.Prec >= 0 && spec.Prec < bytes.Length) Array.Resize(ref bytes, spec.Prec);
                var hex = new StringBuilder(bytes.Length * 2);
                for (int i = 0; i < bytes.Length; i++)
                {
                    if (spec.Space && i > 0) hex.Append(' ');
                    if (spec.Sharp && (spec.Space || i == 0)) hex.Append(spec.Verb == 'x' ? "0x" : "0X");
                    hex.Append(bytes[i].ToString(spec.Verb == 'x' ? "x2" : "X2", CultureInfo.InvariantCulture));
                }
                Pad(sb, spec, hex.ToString(), false);
                return;
            default:
                BadVerb(sb, spec, arg);
                return;
        }
    }

    private static bool HasControl(string s)
    {
        foreach (var c in s) if (char.IsControl(c) && c != '\t') return true;
        return false;
    }

    // ------------------------------------------------------------------ floats

    private static void FormatFloat(StringBuilder sb, Spec spec, Arg arg)
    {
        double d = arg.F;
        string body;
        switch (spec.Verb)
        {
            case 'v': body = FormatG(d, -1, spec.Sharp, 'e'); break;
            case 'g': body = FormatG(d, spec.Prec, spec.Sharp, 'e'); break;
            case 'G': body = FormatG(d, spec.Prec, spec.Sharp, 'E'); break;
            case 'e': body = FormatE(d, spec.Prec < 0 ? 6 : spec.Prec, 'e'); break;
            case 'E': body = FormatE(d, spec.Prec < 0 ? 6 : spec.Prec, 'E'); break;
            case 'f':
            case 'F': body = FormatFixed(Math.Abs(d), spec.Prec < 0 ? 6 : spec.Prec); break;
            default: BadVerb(sb, spec, arg); return;
        }
        if (body[0] == '-') body = body[1..];
        string sign = double.IsNegative(d) ? "-" : spec.Plus ? "+" : spec.Space ? " " : "";
        Pad(sb, spec, sign + body, true);
    }

    /// <summary>|d| with <paramref name="prec"/> decimals, rounded half to even on the double's exact binary value
    /// (as Go's <c>%f</c>: <c>%.0f</c> of 2.5 is <c>2</c>).</summary>
    private static string FormatFixed(double d, int prec)
    {
        long bits = BitConverter.DoubleToInt64Bits(Math.Abs(d));
        int rawExp = (int)((bits >> 52) & 0x7FF);
        long frac = bits & 0xFFFFFFFFFFFFFL;
        BigInteger mant = rawExp == 0 ? frac : frac | (1L << 52);
        int exp = (rawExp == 0 ? 1 : rawExp) - 1075; // value = mant * 2^exp
        BigInteger scaled;
        if (exp >= 0) scaled = (mant << exp) * BigInteger.Pow(10, prec);
        else
        {
            var num = mant * BigInteger.Pow(10, prec);
            var den = BigInteger.One << -exp;
            scaled = BigInteger.DivRem(num, den, out var rem);
            int c = (rem * 2).CompareTo(den);
            if (c > 0 || (c == 0 && !scaled.IsEven)) scaled += 1;
        }
        var digits = scaled.ToString(CultureInfo.InvariantCulture);
        if (prec == 0) return digits;
        digits = digits.PadLeft(prec + 1, '0');
        return digits[..^prec] + "." + digits[^prec..];
    }

    /// <summary>Decimal digits (no leading zeros, no trailing zeros) and decimal point position of |d|: either the
    /// shortest round-trip digits (<paramref name="significant"/> &lt; 0) or rounded to that many digits.</summary>
    private static (string Digits, int Dp) Digits(double d, int significant)
    {
        d = Math.Abs(d);
        if (d == 0) return ("0", 1);
        string text = significant < 0
            ? ShortestE(d)
            : d.ToString("E" + Math.Max(0, significant - 1).ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        int e = text.IndexOf('E');
        string mant = text[..e].Replace(".", "");
        int exp = int.Parse(text[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        mant = mant.TrimEnd('0');
        if (mant.Length == 0) mant = "0";
        return (mant, exp + 1);
    }

    private static string ShortestE(double d)
    {
        // "R" gives the shortest round-trip digits; normalize it to d.ddddE±x form.
        var r = d.ToString("R", CultureInfo.InvariantCulture);
        int exp = 0;
        int e = r.IndexOfAny(['E', 'e']);
        if (e >= 0) { exp = int.Parse(r[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture); r = r[..e]; }
        int dot = r.IndexOf('.');
        string intPart = dot < 0 ? r : r[..dot];
        string frac = dot < 0 ? "" : r[(dot + 1)..];
        string all = intPart + frac;
        int lead = 0;
        while (lead < all.Length - 1 && all[lead] == '0') lead++;
        int pointPos = intPart.Length - lead; // digits before the point after stripping leading zeros
        string digits = all[lead..];
        int exponent = exp + pointPos - 1;
        return digits[0] + (digits.Length > 1 ? "." + digits[1..] : "") + "E" + exponent.ToString(CultureInfo.InvariantCulture);
    }

    private static string ExpText(int exp, char e)
        => e + (exp < 0 ? "-" : "+") + Math.Abs(exp).ToString("00", CultureInfo.InvariantCulture);

    private static string FormatE(double d, int prec, char e)
    {
        var (digits, dp) = Digits(d, prec + 1);
        var sb = new StringBuilder();
        sb.Append(digits[0]);
        if (prec > 0)
        {
            sb.Append('.');
            for (int i = 1; i <= prec; i++) sb.Append(i < digits.Length ? digits[i] : '0');
        }
        int exp = digits == "0" ? 0 : dp - 1;
        sb.Append(ExpText(exp, e));
        return sb.ToString();
    }

    private static string FormatG(double d, int prec, bool sharp, char e)
    {
        bool shortest = prec < 0;
        if (prec == 0) prec = 1;
        var (digits, dp) = Digits(d, shortest ? -1 : prec);
        int nd = digits == "0" ? 0 : digits.Length;
        if (digits == "0") dp = 0;
        if (shortest) prec = Math.Max(nd, 1);
        int eprec = prec;
        if (eprec > nd && nd >= dp) eprec = nd;
        if (shortest) eprec = 6;
        int exp = dp - 1;
        if (exp < -4 || exp >= eprec)
        {
            if (prec > nd) prec = Math.Max(nd, 1);
            var sb = new StringBuilder();
            sb.Append(nd == 0 ? '0' : digits[0]);
            if (prec > 1)
            {
                sb.Append('.');
                for (int i = 1; i < prec; i++) sb.Append(i < nd ? digits[i] : '0');
            }
            sb.Append(ExpText(nd == 0 ? 0 : exp, e));
            return sb.ToString();
        }
        if (prec > dp) prec = nd;
        int fracDigits = Math.Max(prec - dp, 0);
        var f = new StringBuilder();
        if (dp > 0)
        {
            for (int i = 0; i < dp; i++) f.Append(i < nd ? digits[i] : '0');
        }
        else f.Append('0');
        if (fracDigits > 0)
        {
            f.Append('.');
            for (int i = 0; i < fracDigits; i++)
            {
                int j = dp + i;
                f.Append(j >= 0 && j < nd ? digits[j] : '0');
            }
        }
        return f.ToString();
    }

    // ------------------------------------------------------------------ quoting

    /// <summary>Go's <c>strconv.Quote</c>: a double-quoted string with Go escapes for control and non-printable
    /// characters.</summary>
    public static string GoQuote(string s)
    {
        var sb = new StringBuilder(s.Length + 2);
        sb.Append('"');
        for (int i = 0; i < s.Length; i++)
        {
            int cp;
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) { cp = char.ConvertToUtf32(s[i], s[i + 1]); i++; }
            else if (char.IsSurrogate(s[i])) { sb.Append("\\ufffd"); continue; }
            else cp = s[i];
            switch (cp)
            {
                case '"': sb.Append("\\\""); continue;
                case '\\': sb.Append("\\\\"); continue;
                case '\a': sb.Append("\\a"); continue;
                case '\b': sb.Append("\\b"); continue;
                case '\f': sb.Append("\\f"); continue;
                case '\n': sb.Append("\\n"); continue;
                case '\r': sb.Append("\\r"); continue;
                case '\t': sb.Append("\\t"); continue;
                case '\v': sb.Append("\\v"); continue;
            }
            if (IsPrintable(cp)) { sb.Append(char.ConvertFromUtf32(cp)); continue; }
            if (cp < 0x80) sb.Append("\\x").Append(cp.ToString("x2", CultureInfo.InvariantCulture));
            else if (cp < 0x10000) sb.Append("\\u").Append(cp.ToString("x4", CultureInfo.InvariantCulture));
            else sb.Append("\\U").Append(cp.ToString("x8", CultureInfo.InvariantCulture));
        }
        sb.Append('"');
        return sb.ToString();
    }

    private static bool IsPrintable(int cp)
    {
        if (cp == ' ') return true;
        if (cp < 0x20 || cp == 0x7f) return false;
        var cat = CharUnicodeInfo.GetUnicodeCategory(cp);
        return cat is not (UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse
            or UnicodeCategory.OtherNotAssigned or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator or UnicodeCategory.SpaceSeparator);
    }
}
