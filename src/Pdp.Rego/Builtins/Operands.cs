using System.Numerics;
using System.Text;
using Pdp.Rego.Values;

namespace Pdp.Rego.Builtins;

/// <summary>
/// Operand helpers shared by every built-in category.
/// Each accessor returns operand <c>index</c> (0-based) as the wanted type or throws OPA's operand error, whose
/// operand numbers are 1-based: <c>NAME: operand N must be T but got U</c> (<c>eval_type_error</c>).
/// </summary>
internal static class Operands
{
    /// <summary>Operand as a string value, else <c>must be string</c>.</summary>
    public static string Str(string builtin, ReadOnlySpan<Value> args, int index)
        => args[index] is StringValue s ? s.Value : throw BuiltinException.OperandType(builtin, index + 1, "string", args[index]);

    /// <summary>Operand as a number, else <c>must be number</c>.</summary>
    public static NumberValue Num(string builtin, ReadOnlySpan<Value> args, int index)
        => args[index] as NumberValue ?? throw BuiltinException.OperandType(builtin, index + 1, "number", args[index]);

    /// <summary>Operand as an array, else <c>must be array</c>.</summary>
    public static ArrayValue Arr(string builtin, ReadOnlySpan<Value> args, int index)
        => args[index] as ArrayValue ?? throw BuiltinException.OperandType(builtin, index + 1, "array", args[index]);

    /// <summary>Operand as an object, else <c>must be object</c>.</summary>
    public static ObjectValue Obj(string builtin, ReadOnlySpan<Value> args, int index)
        => args[index] as ObjectValue ?? throw BuiltinException.OperandType(builtin, index + 1, "object", args[index]);

    /// <summary>Operand as a set, else <c>must be set</c>.</summary>
    public static SetValue Set(string builtin, ReadOnlySpan<Value> args, int index)
        => args[index] as SetValue ?? throw BuiltinException.OperandType(builtin, index + 1, "set", args[index]);

    /// <summary>
    /// Operand as an int (OPA's <c>IntOperand</c>): a non-number is <c>must be number</c>; a fraction, or an integer
    /// too large for 64 bits, is <c>must be integer number but got floating-point number</c>.
    /// </summary>
    public static long Int(string builtin, ReadOnlySpan<Value> args, int index)
    {
        var n = Num(builtin, args, index);
        if (n.TryGetInt64(out var v)) return v;
        throw Operand(builtin, index + 1, "must be integer number but got floating-point number");
    }

    /// <summary>
    /// Operand as a big integer (OPA's <c>BigIntOperand</c>): a non-number is <c>must be integer but got T</c>, a
    /// fraction <c>must be integer number but got floating-point number</c>.
    /// </summary>
    public static BigInteger BigInt(string builtin, ReadOnlySpan<Value> args, int index)
    {
        if (args[index] is not NumberValue n) throw BuiltinException.OperandType(builtin, index + 1, "integer", args[index]);
        if (n.TryGetBigInteger(out var b)) return b;
        throw Operand(builtin, index + 1, "must be integer number but got floating-point number");
    }

    /// <summary>A free-form operand error: <c>NAME: operand N TEXT</c> (<c>eval_type_error</c>).</summary>
    public static BuiltinException Operand(string builtin, int operand, string text)
        => new("eval_type_error", $"{builtin}: operand {operand} {text}");

    /// <summary>OPA's element error: <c>NAME: operand N must be array of strings but got array containing number</c>.</summary>
    public static BuiltinException Element(string builtin, int operand, Value composite, Value element, string want)
        => Operand(builtin, operand, $"must be {composite.TypeName} of {want}s but got {composite.TypeName} containing {element.TypeName}");

    /// <summary>The elements of an array or a set (sorted), or null for any other value.</summary>
    public static ReadOnlySpan<Value> Elements(Value v, out bool ok)
    {
        switch (v)
        {
            case ArrayValue a: ok = true; return a.Span;
            case SetValue s: ok = true; return s.Span;
            default: ok = false; return default;
        }
    }

    /// <summary>Number of Unicode code points in <paramref name="s"/> (a lone surrogate counts as one, as Go counts
    /// an invalid byte sequence as one rune).</summary>
    public static int CodePointCount(string s)
    {
        int n = s.Length;
        for (int i = 0; i + 1 < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && char.IsLowSurrogate(s[i + 1])) { n--; i++; }
        }
        return n;
    }

    /// <summary>The UTF-16 index of code point number <paramref name="cp"/> (or the length when past the end).</summary>
    public static int CodePointToIndex(string s, int cp)
    {
        int i = 0;
        while (cp > 0 && i < s.Length)
        {
            i += i + 1 < s.Length && char.IsHighSurrogate(s[i]) && char.IsLowSurrogate(s[i + 1]) ? 2 : 1;
            cp--;
        }
        return i;
    }

    /// <summary>The code point number at UTF-16 index <paramref name="index"/>.</summary>
    public static int IndexToCodePoint(string s, int index)
    {
        int cp = 0;
        for (int i = 0; i < index; i++)
        {
            if (i + 1 < s.Length && char.IsHighSurrogate(s[i]) && char.IsLowSurrogate(s[i + 1])) i++;
            cp++;
        }
        return cp;
    }

    /// <summary>True when every char is ASCII (then UTF-16 indexes are code point indexes).</summary>
    public static bool IsAscii(string s)
    {
        foreach (var c in s) if (c > 0x7f) return false;
        return true;
    }

    /// <summary>An array of string values.</summary>
    public static ArrayValue StringArray(List<string> items)
    {
        var arr = new Value[items.Count];
        for (int i = 0; i < arr.Length; i++) arr[i] = new StringValue(items[i]);
        return new ArrayValue(arr);
    }

    /// <summary>Appends the code points of <paramref name="s"/> as separate strings (Go's split on "").</summary>
    public static List<string> Explode(string s)
    {
        var parts = new List<string>(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            if (i + 1 < s.Length && char.IsHighSurrogate(s[i]) && char.IsLowSurrogate(s[i + 1])) { parts.Add(s.Substring(i, 2)); i++; }
            else parts.Add(s[i].ToString());
        }
        return parts;
    }

    /// <summary>Go's <c>strings.Split</c>: empty separator explodes into code points.</summary>
    public static List<string> Split(string s, string sep)
    {
        if (sep.Length == 0) return Explode(s);
        var parts = new List<string>();
        int start = 0;
        while (true)
        {
            int i = s.IndexOf(sep, start, StringComparison.Ordinal);
            if (i < 0) break;
            parts.Add(s.Substring(start, i - start));
            start = i + sep.Length;
        }
        parts.Add(s.Substring(start));
        return parts;
    }

}
