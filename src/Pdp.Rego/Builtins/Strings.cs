using System.Globalization;
using System.Numerics;
using System.Text;
using Pdp.Rego.Values;

namespace Pdp.Rego.Builtins;

/// <summary>
/// String built-ins with OPA's semantics: indexes and lengths count Unicode code points (<c>indexof</c>,
/// <c>substring</c>, <c>count</c>), trimming removes code points of a cutset (Go's <c>strings.Trim</c>), and replacing
/// follows Go's <c>strings.Replacer</c> (left to right, no overlaps; an empty pattern matches between code points).
/// </summary>
public static class Strings
{
    private static readonly BuiltinType[] S = [BuiltinType.String];
    private static readonly BuiltinType[] SS = [BuiltinType.String, BuiltinType.String];
    private static readonly BuiltinType[] SSS = [BuiltinType.String, BuiltinType.String, BuiltinType.String];
    private static readonly BuiltinType StrList = BuiltinType.String | BuiltinType.Array | BuiltinType.Set;

    /// <summary>Registers the string built-ins (sprintf lives in <see cref="Sprintf"/>).</summary>
    public static void Register(BuiltinRegistry.Builder b)
    {
        b.Add("concat", 2, static (_, a) => Concat(a), [BuiltinType.String, BuiltinType.Array | BuiltinType.Set]);
        b.Add("contains", 2, static (_, a) => Value.Bool(Operands.Str("contains", a, 0).Contains(Operands.Str("contains", a, 1), StringComparison.Ordinal)), SS);
        b.Add("startswith", 2, static (_, a) => Value.Bool(Operands.Str("startswith", a, 0).StartsWith(Operands.Str("startswith", a, 1), StringComparison.Ordinal)), SS);
        b.Add("endswith", 2, static (_, a) => Value.Bool(Operands.Str("endswith", a, 0).EndsWith(Operands.Str("endswith", a, 1), StringComparison.Ordinal)), SS);
        b.Add("lower", 1, static (_, a) => Same(a[0], Operands.Str("lower", a, 0).ToLowerInvariant()), S);
        b.Add("upper", 1, static (_, a) => Same(a[0], Operands.Str("upper", a, 0).ToUpperInvariant()), S);
        b.Add("split", 2, static (_, a) => Split(a), SS);
        b.Add("strings.split_n", 3, static (_, a) => SplitN(a), [BuiltinType.String, BuiltinType.String, BuiltinType.Number]);
        b.Add("substring", 3, static (_, a) => Substring(a), [BuiltinType.String, BuiltinType.Number, BuiltinType.Number]);
        b.Add("trim", 2, static (_, a) => Same(a[0], Trim(Operands.Str("trim", a, 0), Operands.Str("trim", a, 1), true, true)), SS);
        b.Add("trim_left", 2, static (_, a) => Same(a[0], Trim(Operands.Str("trim_left", a, 0), Operands.Str("trim_left", a, 1), true, false)), SS);
        b.Add("trim_right", 2, static (_, a) => Same(a[0], Trim(Operands.Str("trim_right", a, 0), Operands.Str("trim_right", a, 1), false, true)), SS);
        b.Add("trim_prefix", 2, static (_, a) => TrimPrefix(a), SS);
        b.Add("trim_suffix", 2, static (_, a) => TrimSuffix(a), SS);
        b.Add("trim_space", 1, static (_, a) => Same(a[0], TrimSpace(Operands.Str("trim_space", a, 0))), S);
        b.Add("replace", 3, static (_, a) => Replace(a), SSS);
        b.Add("strings.replace_n", 2, static (_, a) => ReplaceN(a), [BuiltinType.Object, BuiltinType.String]);
        b.Add("indexof", 2, static (_, a) => IndexOf(a), SS);
        b.Add("indexof_n", 2, static (_, a) => IndexOfN(a), SS);
        b.Add("format_int", 2, static (_, a) => FormatInt(a), [BuiltinType.Number, BuiltinType.Number]);
        b.Add("strings.reverse", 1, static (_, a) => new StringValue(Reverse(Operands.Str("strings.reverse", a, 0))), S);
        b.Add("strings.count", 2, static (_, a) => StringCount(a), SS);
        b.Add("strings.any_prefix_match", 2, static (_, a) => Value.Bool(AnyMatch("strings.any_prefix_match", a, suffix: false)), [StrList, StrList]);
        b.Add("strings.any_suffix_match", 2, static (_, a) => Value.Bool(AnyMatch("strings.any_suffix_match", a, suffix: true)), [StrList, StrList]);
    }

    /// <summary>The operand itself when the result did not change (saves an allocation), else a new string.</summary>
    private static Value Same(Value operand, string result)
    {
        var s = ((StringValue)operand).Value;
        return ReferenceEquals(s, result) || s == result ? operand : new StringValue(result);
    }

    private static Value Concat(ReadOnlySpan<Value> a)
    {
        var sep = Operands.Str("concat", a, 0);
        var items = Operands.Elements(a[1], out var ok);
        if (!ok) throw BuiltinException.OperandType("concat", 2, "one of {set, array}", a[1]);
        if (items.Length == 0) return StringValue.Empty;
        int length = sep.Length * (items.Length - 1);
        foreach (var item in items)
        {
            if (item is not StringValue s) throw Operands.Element("concat", 2, a[1], item, "string");
            length += s.Value.Length;
        }
        if (items.Length == 1) return items[0];
        return new StringValue(string.Create(length, (Items: a[1], Sep: sep), static (span, state) =>
        {
            var list = Operands.Elements(state.Items, out _);
            int pos = 0;
            for (int i = 0; i < list.Length; i++)
            {
                if (i > 0) { state.Sep.AsSpan().CopyTo(span[pos..]); pos += state.Sep.Length; }
                var v = ((StringValue)list[i]).Value;
                v.AsSpan().CopyTo(span[pos..]);
                pos += v.Length;
            }
        }));
    }

    private static Value Split(ReadOnlySpan<Value> a)
    {
        var s = Operands.Str("split", a, 0);
        var sep = Operands.Str("split", a, 1);
        if (sep.Length > 0 && !s.Contains(sep, StringComparison.Ordinal)) return new ArrayValue([a[0]]);
        return Operands.StringArray(Operands.Split(s, sep));
    }

    private static Value SplitN(ReadOnlySpan<Value> a)
    {
        const string name = "strings.split_n";
        var s = Operands.Str(name, a, 0);
        var sep = Operands.Str(name, a, 1);
        long n = Operands.Int(name, a, 2);
        var parts = Operands.Split(s, sep);
        if (n == 0) return ArrayValue.Empty;
        if (n > 0)
        {
            if (n < parts.Count) parts.RemoveRange((int)n, parts.Count - (int)n);
        }
        else if (n > -(long)parts.Count)
        {
            parts.RemoveRange(0, parts.Count - (int)-n);
        }
        return Operands.StringArray(parts);
    }

    private static Value Substring(ReadOnlySpan<Value> a)
    {
        const string name = "substring";
        var s = Operands.Str(name, a, 0);
        long start = Operands.Int(name, a, 1);
        long length = Operands.Int(name, a, 2);
        if (start < 0) throw BuiltinException.Error(name, "negative offset");
        if (s.Length == 0) return StringValue.Empty;
        if (Operands.IsAscii(s))
        {
            if (start >= s.Length) return StringValue.Empty;
            if (length < 0) return new StringValue(s[(int)start..]);
            if (start == 0 && length >= s.Length) return a[0];
            long upto = Math.Min(s.Length, start + length);
            return new StringValue(s[(int)start..(int)upto]);
        }
        int count = Operands.CodePointCount(s);
        if (start >= count) return StringValue.Empty;
        if (start == 0 && length >= count) return a[0];
        int from = Operands.CodePointToIndex(s, (int)start);
        if (length < 0) return new StringValue(s[from..]);
        long end = Math.Min(count, start + length);
        int to = Operands.CodePointToIndex(s, (int)end);
        return new StringValue(s[from..to]);
    }

    /// <summary>Go's <c>strings.Trim/TrimLeft/TrimRight</c>: removes code points found in <paramref name="cutset"/>.</summary>
    public static string Trim(string s, string cutset, bool left, bool right)
    {
        if (s.Length == 0 || cutset.Length == 0) return s;
        int start = 0, end = s.Length;
        if (left)
        {
            while (start < end)
            {
                int w = RuneWidth(s, start);
                if (!InCutset(cutset, s, start, w)) break;
                start += w;
            }
        }
        if (right)
        {
            while (end > start)
            {
                int w = end - 1 > start && char.IsLowSurrogate(s[end - 1]) && char.IsHighSurrogate(s[end - 2]) ? 2 : 1;
                if (!InCutset(cutset, s, end - w, w)) break;
                end -= w;
            }
        }
        return start == 0 && end == s.Length ? s : s[start..end];
    }

    private static int RuneWidth(string s, int i) => i + 1 < s.Length && char.IsHighSurrogate(s[i]) && char.IsLowSurrogate(s[i + 1]) ? 2 : 1;

    private static bool InCutset(string cutset, string s, int i, int width)
        => width == 1 ? cutset.Contains(s[i]) : cutset.Contains(s.Substring(i, 2), StringComparison.Ordinal);

    /// <summary>Go's <c>strings.TrimSpace</c> (Unicode white space at both ends).</summary>
    public static string TrimSpace(string s)
    {
        int start = 0, end = s.Length;
        while (start < end && IsGoSpace(s[start])) start++;
        while (end > start && IsGoSpace(s[end - 1])) end--;
        return start == 0 && end == s.Length ? s : s[start..end];
    }

    private static bool IsGoSpace(char c) => c switch
    {
        '\t' or '\n' or '\v' or '\f' or '\r' or ' ' or '\u0085' or '\u00a0' => true,
        _ => c > 0xff && char.IsWhiteSpace(c),
    };

    private static Value TrimPrefix(ReadOnlySpan<Value> a)
    {
        var s = Operands.Str("trim_prefix", a, 0);
        var p = Operands.Str("trim_prefix", a, 1);
        return p.Length > 0 && s.StartsWith(p, StringComparison.Ordinal) ? new StringValue(s[p.Length..]) : a[0];
    }

    private static Value TrimSuffix(ReadOnlySpan<Value> a)
    {
        var s = Operands.Str("trim_suffix", a, 0);
        var p = Operands.Str("trim_suffix", a, 1);
        return p.Length > 0 && s.EndsWith(p, StringComparison.Ordinal) ? new StringValue(s[..^p.Length]) : a[0];
    }

    private static Value Replace(ReadOnlySpan<Value> a)
    {
        var s = Operands.Str("replace", a, 0);
        var old = Operands.Str("replace", a, 1);
        var @new = Operands.Str("replace", a, 2);
        if (old.Length > 0)
        {
            if (!s.Contains(old, StringComparison.Ordinal)) return a[0];
            return new StringValue(s.Replace(old, @new, StringComparison.Ordinal));
        }
        var r = ReplaceAll(s, [(old, @new)]);
        return r == s ? a[0] : new StringValue(r);
    }

    private static Value ReplaceN(ReadOnlySpan<Value> a)
    {
        const string name = "strings.replace_n";
        var patterns = Operands.Obj(name, a, 0);
        var s = Operands.Str(name, a, 1);
        var pairs = new (string Old, string New)[patterns.Count];
        int i = 0;
        foreach (var e in patterns.Entries)
        {
            if (e.Key is not StringValue k) throw Operands.Operand(name, 1, "non-string key found in pattern object");
            if (e.Value is not StringValue v) throw Operands.Operand(name, 1, "non-string value found in pattern object");
            pairs[i++] = (k.Value, v.Value);
        }
        return new StringValue(ReplaceAll(s, pairs));
    }

    /// <summary>Go's <c>strings.NewReplacer(pairs).Replace(s)</c>: at each position the first pair (in order) whose
    /// old string matches is applied, without overlaps. An empty old string matches at every code point boundary
    /// and at the end; right after it matched, the other pairs get a chance at the same position.</summary>
    public static string ReplaceAll(string s, (string Old, string New)[] pairs)
    {
        if (pairs.Length == 0) return s;
        var sb = new StringBuilder(s.Length);
        int i = 0;
        bool prevEmpty = false;
        while (i <= s.Length)
        {
            int match = -1;
            for (int p = 0; p < pairs.Length; p++)
            {
                var old = pairs[p].Old;
                if (old.Length == 0 ? !prevEmpty : i + old.Length <= s.Length && string.CompareOrdinal(s, i, old, 0, old.Length) == 0) { match = p; break; }
            }
            prevEmpty = match >= 0 && pairs[match].Old.Length == 0;
            if (match >= 0)
            {
                sb.Append(pairs[match].New);
                i += pairs[match].Old.Length;
                continue;
            }
            if (i == s.Length) break;
            int w = RuneWidth(s, i);
            sb.Append(s, i, w);
            i += w;
        }
        return sb.ToString();
    }

    private static Value IndexOf(ReadOnlySpan<Value> a)
    {
        var s = Operands.Str("indexof", a, 0);
        var search = Operands.Str("indexof", a, 1);
        if (search.Length == 0) throw BuiltinException.Error("indexof", "empty search character");
        int i = s.IndexOf(search, StringComparison.Ordinal);
        if (i <= 0) return NumberValue.FromInt64(i);
        return NumberValue.FromInt64(Operands.IndexToCodePoint(s, i));
    }

    private static Value IndexOfN(ReadOnlySpan<Value> a)
    {
        var s = Operands.Str("indexof_n", a, 0);
        var search = Operands.Str("indexof_n", a, 1);
        if (search.Length == 0) throw BuiltinException.Error("indexof_n", "empty search character");
        var found = new List<Value>();
        int cp = 0;
        for (int i = 0; i < s.Length; i += RuneWidth(s, i), cp++)
        {
            if (i + search.Length > s.Length) break;
            if (string.CompareOrdinal(s, i, search, 0, search.Length) == 0) found.Add(NumberValue.FromInt64(cp));
        }
        return new ArrayValue(found.ToArray());
    }

    private static Value FormatInt(ReadOnlySpan<Value> a)
    {
        var input = Operands.Num("format_int", a, 0);
        var baseNum = Operands.Num("format_int", a, 1);
        int radix = baseNum.IsInteger && baseNum.TryGetInt32(out var r) && r is 2 or 8 or 10 or 16 ? r : 0;
        if (radix == 0) throw Operands.Operand("format_int", 2, "must be one of {2, 8, 10, 16}");
        BigInteger value;
        if (!input.TryGetBigInteger(out value)) value = new BigInteger(Math.Truncate(input.ToDouble()));
        return new StringValue(FormatBig(value, radix, upper: false));
    }

    /// <summary>An integer in base 2, 8, 10 or 16 with a leading minus for negatives (Go's <c>%b %o %d %x</c>).</summary>
    public static string FormatBig(BigInteger value, int radix, bool upper)
    {
        if (radix == 10) return value.ToString(CultureInfo.InvariantCulture);
        bool neg = value.Sign < 0;
        var mag = BigInteger.Abs(value);
        if (mag.IsZero) return "0";
        var digits = new StringBuilder();
        var digitChars = upper ? "0123456789ABCDEF" : "0123456789abcdef";
        while (!mag.IsZero)
        {
            mag = BigInteger.DivRem(mag, radix, out var rem);
            digits.Insert(0, digitChars[(int)rem]);
        }
        if (neg) digits.Insert(0, '-');
        return digits.ToString();
    }

    /// <summary>Reverses by code point (surrogate pairs stay intact).</summary>
    public static string Reverse(string s)
    {
        if (s.Length < 2) return s;
        return string.Create(s.Length, s, static (span, src) =>
        {
            int j = src.Length;
            for (int i = 0; i < src.Length; i++)
            {
                if (i + 1 < src.Length && char.IsHighSurrogate(src[i]) && char.IsLowSurrogate(src[i + 1]))
                {
                    span[j - 2] = src[i];
                    span[j - 1] = src[i + 1];
                    j -= 2;
                    i++;
                }
                else span[--j] = src[i];
            }
        });
    }

    private static Value StringCount(ReadOnlySpan<Value> a)
    {
        var s = Operands.Str("strings.count", a, 0);
        var sub = Operands.Str("strings.count", a, 1);
        if (sub.Length == 0) return NumberValue.FromInt64(Operands.CodePointCount(s) + 1);
        int n = 0;
        for (int i = s.IndexOf(sub, StringComparison.Ordinal); i >= 0; i = s.IndexOf(sub, i + sub.Length, StringComparison.Ordinal)) n++;
        return NumberValue.FromInt64(n);
    }

    private static bool AnyMatch(string name, ReadOnlySpan<Value> a, bool suffix)
    {
        var strs = StringOrList(name, a[0], 1);
        var patterns = StringOrList(name, a[1], 2);
        foreach (var s in strs)
        {
            foreach (var p in patterns)
            {
                if (suffix ? s.EndsWith(p, StringComparison.Ordinal) : s.StartsWith(p, StringComparison.Ordinal)) return true;
            }
        }
        return false;
    }

    private static string[] StringOrList(string name, Value v, int operand) => v switch
    {
        StringValue s => [s.Value],
        ArrayValue or SetValue => ElementStrings(name, v, operand),
        _ => throw BuiltinException.OperandType(name, operand, "one of {string, set, array}", v),
    };

    private static string[] ElementStrings(string name, Value v, int operand)
    {
        var items = Operands.Elements(v, out _);
        var result = new string[items.Length];
        for (int i = 0; i < items.Length; i++)
        {
            if (items[i] is not StringValue s) throw Operands.Element(name, operand, v, items[i], "string");
            result[i] = s.Value;
        }
        return result;
    }
}
