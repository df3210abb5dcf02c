using System.Buffers.Binary;
using System.Globalization;
using Pdp.Rego.Values;

namespace Pdp.Rego.Builtins;

/// <summary>
/// <c>uuid.rfc4122(k)</c>: a random version 4 UUID, the same for the same key within one evaluation;
/// <c>uuid.parse(s)</c>: the fields of a UUID written as <c>xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx</c>, with braces,
/// with a <c>urn:uuid:</c> prefix or as 32 hex digits (undefined when it is not one).
/// </summary>
public static class UuidBuiltins
{
    /// <summary>Registers the UUID built-ins.</summary>
    public static void Register(BuiltinRegistry.Builder b)
    {
        b.Add("uuid.rfc4122", 1, Rfc4122, [BuiltinType.String], nondeterministic: true);
        b.Add("uuid.parse", 1, Parse, [BuiltinType.String]);
    }

    private static Value Rfc4122(BuiltinContext ctx, ReadOnlySpan<Value> args)
    {
        var key = Operands.Str("uuid.rfc4122", args, 0);
        var cacheKey = ("uuid.rfc4122", key);
        if (ctx.Cache.TryGetValue(cacheKey, out var cached)) return (Value)cached;
        // Guid.NewGuid is a random (version 4, RFC 4122 variant) UUID from a cryptographic source.
        Value v = new StringValue(Guid.NewGuid().ToString("D"));
        ctx.Cache[cacheKey] = v;
        return v;
    }

    /// <summary>The 16 bytes of a UUID text, or null.</summary>
    internal static byte[]? ParseBytes(string s)
    {
        string hex;
        switch (s.Length)
        {
            case 36: hex = Dashed(s); break;
            case 38 when s[0] == '{' && s[^1] == '}': hex = Dashed(s[1..^1]); break;
            case 45 when s.StartsWith("urn:uuid:", StringComparison.OrdinalIgnoreCase): hex = Dashed(s[9..]); break;
            case 32: hex = s; break;
            default: return null;
        }
        if (hex.Length != 32) return null;
        foreach (var c in hex) if (!char.IsAsciiHexDigit(c)) return null;
        return Convert.FromHexString(hex);
    }

    private static string Dashed(string s)
        => s.Length == 36 && s[8] == '-' && s[13] == '-' && s[18] == '-' && s[23] == '-' ? s.Replace("-", "") : "";

    private static Value? Parse(BuiltinContext ctx, ReadOnlySpan<Value> args)
    {
        if (args[0] is not StringValue s) throw BuiltinException.OperandType("uuid.parse", 1, "string", args[0]);
        var u = ParseBytes(s.Value);
        if (u is null) return null;
        int version = u[6] >> 4;
        string variant = (u[8] & 0xc0) == 0x80 ? "RFC4122" : (u[8] & 0xe0) == 0xc0 ? "Microsoft" : (u[8] & 0xe0) == 0xe0 ? "Future" : "Reserved";
        var b = new ObjectValue.Builder(8).Set("version", NumberValue.FromInt64(version)).Set("variant", new StringValue(variant));
        if (version is 1 or 2)
        {
            // 100 ns intervals since 1582-10-15, as unix nanoseconds.
            long t = BinaryPrimitives.ReadUInt32BigEndian(u.AsSpan(0, 4))
                     | ((long)BinaryPrimitives.ReadUInt16BigEndian(u.AsSpan(4, 2)) << 32)
                     | ((long)(BinaryPrimitives.ReadUInt16BigEndian(u.AsSpan(6, 2)) & 0xfff) << 48);
            const long gregorianToUnix = 0x01B21DD213814000;
            b.Set("time", NumberValue.FromInt64((t - gregorianToUnix) * 100));
            b.Set("clocksequence", NumberValue.FromInt64(BinaryPrimitives.ReadUInt16BigEndian(u.AsSpan(8, 2)) & 0x3fff));
            b.Set("nodeid", new StringValue(string.Join("-", u[10..].Select(x => x.ToString("x2", CultureInfo.InvariantCulture)))));
            b.Set("macvariables", new StringValue(((u[10] & 2) == 0 ? "global" : "local") + ":" + ((u[10] & 1) == 0 ? "unicast" : "multicast")));
        }
        if (version == 2)
        {
            b.Set("id", NumberValue.FromInt64(BinaryPrimitives.ReadUInt32BigEndian(u.AsSpan(0, 4))));
            b.Set("domain", new StringValue(u[9] switch { 0 => "Person", 1 => "Group", 2 => "Org", var d => $"Domain{d}" }));
        }
        return b.Build();
    }
}
