using System.Numerics;
using Pdp.Rego.Values;

namespace Pdp.Rego.Builtins;

/// <summary>
/// Bitwise built-ins on integers of any size (two's complement semantics for negatives, as Go's <c>big.Int</c>):
/// <c>bits.and</c>, <c>bits.or</c>, <c>bits.xor</c>, <c>bits.negate</c> (<c>-x - 1</c>), <c>bits.lsh</c> and
/// <c>bits.rsh</c> (the shift must be a non-negative integer). Fractions are operand errors.
/// </summary>
public static class Bits
{
    /// <summary>Largest left shift accepted (bits); a guard against building enormous numbers.</summary>
    public const int MaxShift = 1 << 20;

    private static readonly BuiltinType[] NumNum = [BuiltinType.Number, BuiltinType.Number];

    /// <summary>Registers the bitwise built-ins.</summary>
    public static void Register(BuiltinRegistry.Builder b)
    {
        b.Add("bits.and", 2, static (_, a) => NumberValue.FromBigInteger(Operands.BigInt("bits.and", a, 0) & Operands.BigInt("bits.and", a, 1)), NumNum);
        b.Add("bits.or", 2, static (_, a) => NumberValue.FromBigInteger(Operands.BigInt("bits.or", a, 0) | Operands.BigInt("bits.or", a, 1)), NumNum);
        b.Add("bits.xor", 2, static (_, a) => NumberValue.FromBigInteger(Operands.BigInt("bits.xor", a, 0) ^ Operands.BigInt("bits.xor", a, 1)), NumNum);
        b.Add("bits.negate", 1, static (_, a) => NumberValue.FromBigInteger(-Operands.BigInt("bits.negate", a, 0) - 1), [BuiltinType.Number]);
        b.Add("bits.lsh", 2, static (_, a) => Shift("bits.lsh", a, left: true), NumNum);
        b.Add("bits.rsh", 2, static (_, a) => Shift("bits.rsh", a, left: false), NumNum);
    }

    private static Value Shift(string name, ReadOnlySpan<Value> a, bool left)
    {
        var x = Operands.BigInt(name, a, 0);
        long n = Operands.Int(name, a, 1);
        if (n < 0) throw Operands.Operand(name, 2, "must be an unsigned integer number but got a negative integer");
        if (left)
        {
            if (n > MaxShift) throw BuiltinException.Error(name, $"shift of more than {MaxShift} bits");
            return NumberValue.FromBigInteger(x << (int)n);
        }
        // Go's Rsh is an arithmetic shift (rounds toward negative infinity), as BigInteger's is.
        if (n > int.MaxValue) return NumberValue.FromInt64(x.Sign < 0 ? -1 : 0);
        return NumberValue.FromBigInteger(x >> (int)n);
    }
}
