using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Pdp.Rego.Values;

namespace Pdp.Rego.Builtins;

/// <summary>
/// The <c>net.cidr_*</c> built-ins, with Go's <c>net.ParseIP</c>/<c>net.ParseCIDR</c> strictness (IPv4 dotted
/// decimal without leading zeros, no zones). Addresses are handled as 32- or 128-bit integers.
/// </summary>
public static class NetBuiltins
{
    /// <summary>Registers the net built-ins.</summary>
    public static void Register(BuiltinRegistry.Builder b)
    {
        b.Add("net.cidr_contains", 2, CidrContains, [BuiltinType.String, BuiltinType.String]);
        b.Add("net.cidr_intersects", 2, CidrIntersects, [BuiltinType.String, BuiltinType.String]);
        b.Add("net.cidr_is_valid", 1, CidrIsValid, [BuiltinType.Any]);
        b.Add("net.cidr_expand", 1, CidrExpand, [BuiltinType.String]);
        b.Add("net.cidr_contains_matches", 2, CidrContainsMatches, [BuiltinType.Any, BuiltinType.Any]);
        b.Add("net.cidr_merge", 1, CidrMerge, [BuiltinType.Array | BuiltinType.Set]);
    }

    /// <summary>Most addresses <c>net.cidr_expand</c> will list (a /12 IPv4 network); larger is an error rather
    /// than an evaluation that exhausts memory.</summary>
    public const int MaxExpand = 1 << 20;

    /// <summary>A network: first address (host bits zero), prefix length, and family (32 or 128 bits).</summary>
    internal readonly record struct Network(UInt128 Address, int Prefix, int Bits)
    {
        public UInt128 Mask => Prefix == 0 ? UInt128.Zero : (UInt128.MaxValue << (128 - Prefix)) >> (128 - Bits);
        public UInt128 Last => Address | (~Mask & HostMask(Bits));
        public bool Contains(UInt128 ip, int bits) => bits == Bits && (ip & Mask) == Address;
        public override string ToString() => Format(Address, Bits) + "/" + Prefix.ToString(CultureInfo.InvariantCulture);
    }

    private static UInt128 BlockMask(int size) => size >= 128 ? UInt128.MaxValue : (UInt128.One << size) - 1;

    private static UInt128 HostMask(int bits) => bits == 128 ? UInt128.MaxValue : (UInt128.One << bits) - 1;

    /// <summary>Parses an IP address as Go's <c>net.ParseIP</c>; IPv4-mapped IPv6 addresses count as IPv4.</summary>
    internal static bool TryParseIp(string s, out UInt128 ip, out int bits)
    {
        ip = 0;
        bits = 32;
        if (s.Contains('.') && !s.Contains(':'))
        {
            if (!TryParseIpv4(s, out var v4)) return false;
            ip = v4;
            return true;
        }
        if (!s.Contains(':') || s.Contains('%') || !IPAddress.TryParse(s, out var addr) || addr.AddressFamily != AddressFamily.InterNetworkV6) return false;
        if (addr.IsIPv4MappedToIPv6) { ip = BitsOf(addr.MapToIPv4().GetAddressBytes()); return true; }
        bits = 128;
        ip = BitsOf(addr.GetAddressBytes());
        return true;
    }

    private static bool TryParseIpv4(string s, out uint v)
    {
        v = 0;
        var parts = s.Split('.');
        if (parts.Length != 4) return false;
        foreach (var p in parts)
        {
            if (p.Length is 0 or > 3 || (p.Length > 1 && p[0] == '0')) return false;
            foreach (var c in p) if (!char.IsAsciiDigit(c)) return false;
            var n = int.Parse(p, CultureInfo.InvariantCulture);
            if (n > 255) return false;
            v = (v << 8) | (uint)n;
        }
        return true;
    }

    private static UInt128 BitsOf(byte[] bytes)
    {
        UInt128 v = 0;
        foreach (var b in bytes) v = (v << 8) | b;
        return v;
    }

    /// <summary>Parses <c>ip/prefix</c> as Go's <c>net.ParseCIDR</c> (host bits are masked off).</summary>
    internal static bool TryParseCidr(string s, out Network network)
    {
        network = default;
        int slash = s.IndexOf('/');
        if (slash < 0) return false;
        var prefixText = s[(slash + 1)..];
        if (prefixText.Length is 0 or > 3 || !prefixText.All(char.IsAsciiDigit) || (prefixText.Length > 1 && prefixText[0] == '0')) return false;
        var prefix = int.Parse(prefixText, CultureInfo.InvariantCulture);
        var ipText = s[..slash];
        int bits;
        UInt128 ip;
        if (ipText.Contains(':'))
        {
            // In CIDR notation an IPv4-mapped IPv6 address keeps its 128-bit width (the prefix counts 128 bits).
            if (ipText.Contains('%') || !IPAddress.TryParse(ipText, out var a) || a.AddressFamily != AddressFamily.InterNetworkV6) return false;
            ip = BitsOf(a.GetAddressBytes());
            bits = 128;
        }
        else
        {
            if (!TryParseIpv4(ipText, out var v4)) return false;
            ip = v4;
            bits = 32;
        }
        if (prefix > bits) return false;
        var n = new Network(0, prefix, bits);
        network = n with { Address = ip & n.Mask };
        return true;
    }

    /// <summary>The address in Go's text form (dotted IPv4, RFC 5952 IPv6).</summary>
    internal static string Format(UInt128 ip, int bits)
    {
        if (bits == 32) return $"{(uint)(ip >> 24) & 255}.{(uint)(ip >> 16) & 255}.{(uint)(ip >> 8) & 255}.{(uint)ip & 255}";
        var bytes = new byte[16];
        for (int i = 15; i >= 0; i--) { bytes[i] = (byte)(ip & 255); ip >>= 8; }
        return new IPAddress(bytes).ToString();
    }

    private static Network Cidr(string name, ReadOnlySpan<Value> args, int index)
    {
        var s = Operands.Str(name, args, index);
        if (!TryParseCidr(s, out var n)) throw BuiltinException.Error(name, $"invalid CIDR address: {s}");
        return n;
    }

    private static Value CidrContains(BuiltinContext ctx, ReadOnlySpan<Value> args)
    {
        const string name = "net.cidr_contains";
        var network = Cidr(name, args, 0);
        var other = Operands.Str(name, args, 1);
        if (TryParseIp(other, out var ip, out var bits)) return Value.Bool(network.Contains(ip, bits));
        if (!TryParseCidr(other, out var inner)) throw BuiltinException.Error(name, $"invalid CIDR address: {other}");
        return Value.Bool(network.Contains(inner.Address, inner.Bits) && network.Contains(inner.Last, inner.Bits));
    }

    private static Value CidrIntersects(BuiltinContext ctx, ReadOnlySpan<Value> args)
    {
        const string name = "net.cidr_intersects";
        var a = Cidr(name, args, 0);
        var b = Cidr(name, args, 1);
        return Value.Bool(a.Contains(b.Address, b.Bits) || b.Contains(a.Address, a.Bits));
    }

    private static Value CidrIsValid(BuiltinContext ctx, ReadOnlySpan<Value> args)
        => Value.Bool(args[0] is StringValue s && TryParseCidr(s.Value, out _));

    private static Value CidrExpand(BuiltinContext ctx, ReadOnlySpan<Value> args)
    {
        const string name = "net.cidr_expand";
        var n = Cidr(name, args, 0);
        var hostBits = n.Bits - n.Prefix;
        if (hostBits > 20) throw BuiltinException.Error(name, $"CIDR {Operands.Str(name, args, 0)} has more than {MaxExpand} addresses");
        var count = 1 << hostBits;
        var items = new Value[count];
        for (int i = 0; i < count; i++)
        {
            items[i] = new StringValue(Format(n.Address + (UInt128)i, n.Bits));
        }
        return SetValue.Of(items);
    }

    private static Value CidrContainsMatches(BuiltinContext ctx, ReadOnlySpan<Value> args)
    {
        const string name = "net.cidr_contains_matches";
        var left = Items(name, args[0], 1);
        var right = Items(name, args[1], 2);
        var result = new SetValue.Builder();
        foreach (var (cidr, k1) in left)
        {
            if (!TryParseCidr(cidr, out var network)) throw BuiltinException.Error(name, $"invalid CIDR address: {cidr}");
            foreach (var (other, k2) in right)
            {
                bool contained;
                if (TryParseIp(other, out var ip, out var bits)) contained = network.Contains(ip, bits);
                else if (TryParseCidr(other, out var inner)) contained = network.Contains(inner.Address, inner.Bits) && network.Contains(inner.Last, inner.Bits);
                else throw BuiltinException.Error(name, $"invalid CIDR address or IP: {other}");
                if (contained) result.Add(new ArrayValue([k1, k2]));
            }
        }
        return result.Build();
    }

    /// <summary>The (address, key) pairs of a cidr_contains_matches operand: a string (key = itself), an array
    /// (key = index), a set (key = element) or an object (key = key); elements are strings or arrays whose first
    /// element is the string.</summary>
    private static List<(string Text, Value Key)> Items(string name, Value operand, int index)
    {
        var list = new List<(string, Value)>();
        void Add(Value element, Value key)
        {
            var text = element switch
            {
                StringValue s => s.Value,
                ArrayValue { Count: > 0 } a when a[0] is StringValue s0 => s0.Value,
                _ => throw BuiltinException.Error(name, $"operand {index} must be one of {{string, array of string, set of string, object}} containing CIDRs or [CIDR, ...] tuples but got {element.TypeName}"),
            };
            list.Add((text, key));
        }
        switch (operand)
        {
            case StringValue s: list.Add((s.Value, s)); break;
            case ArrayValue a: for (int i = 0; i < a.Count; i++) Add(a[i], NumberValue.FromInt64(i)); break;
            case SetValue set: foreach (var e in set.Span) Add(e, e); break;
            case ObjectValue o: foreach (var kv in o.Entries) Add(kv.Value, kv.Key); break;
            default: throw BuiltinException.OperandType(name, index, "one of {string, array, set, object}", operand);
        }
        return list;
    }

    private static Value CidrMerge(BuiltinContext ctx, ReadOnlySpan<Value> args)
    {
        const string name = "net.cidr_merge";
        IReadOnlyList<Value> items = args[0] switch
        {
            ArrayValue a => a.Items,
            SetValue s => s.Items,
            _ => throw BuiltinException.OperandType(name, 1, "one of {array, set}", args[0]),
        };
        var v4 = new List<(UInt128 Start, UInt128 End)>();
        var v6 = new List<(UInt128 Start, UInt128 End)>();
        foreach (var item in items)
        {
            if (item is not StringValue s) throw BuiltinException.OperandType(name, 1, "array or set of strings", args[0]);
            Network n;
            if (TryParseIp(s.Value, out var ip, out var bits)) n = new Network(ip, bits, bits);
            else if (!TryParseCidr(s.Value, out n)) throw BuiltinException.Error(name, $"IP address invalid: {s.Value}");
            (n.Bits == 32 ? v4 : v6).Add((n.Address, n.Last));
        }
        var result = new SetValue.Builder();
        foreach (var n in Collapse(v4, 32)) result.Add(new StringValue(n.ToString()));
        foreach (var n in Collapse(v6, 128)) result.Add(new StringValue(n.ToString()));
        return result.Build();
    }

    /// <summary>The fewest networks covering the union of the ranges (the unique minimal CIDR cover).</summary>
    internal static List<Network> Collapse(List<(UInt128 Start, UInt128 End)> ranges, int bits)
    {
        var result = new List<Network>();
        if (ranges.Count == 0) return result;
        ranges.Sort((x, y) => x.Start.CompareTo(y.Start));
        var merged = new List<(UInt128 Start, UInt128 End)>();
        foreach (var r in ranges)
        {
            if (merged.Count > 0)
            {
                var last = merged[^1];
                // Overlapping or adjacent ranges join (End + 1 cannot overflow unless End is all ones).
                if (last.End == HostMask(bits) || r.Start <= last.End + 1)
                {
                    merged[^1] = (last.Start, r.End > last.End ? r.End : last.End);
                    continue;
                }
            }
            merged.Add(r);
        }
        foreach (var (start, end) in merged)
        {
            var cur = start;
            while (true)
            {
                // Largest aligned block starting at cur that does not pass end.
                int size = cur == 0 ? bits : Math.Min(bits, (int)UInt128.TrailingZeroCount(cur));
                while (size > 0 && (BlockMask(size) > end - cur)) size--;
                result.Add(new Network(cur, bits - size, bits));
                var next = cur + BlockMask(size);
                if (next >= end) break;
                cur = next + 1;
            }
        }
        return result;
    }
}
