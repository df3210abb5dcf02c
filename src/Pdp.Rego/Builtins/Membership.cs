using Pdp.Rego.Values;

namespace Pdp.Rego.Builtins;

/// <summary>
/// The membership relations behind <c>in</c>: <c>internal.member_2(x, xs)</c> (<c>x in xs</c>: an element of an array
/// or set, or a value of an object) and <c>internal.member_3(k, v, xs)</c> (<c>k, v in xs</c>: index k of an array
/// or key k of an object holds v; for a set, k and v are both the element). Other collections give false.
/// </summary>
public static class Membership
{
    /// <summary>Registers the membership relations.</summary>
    public static void Register(BuiltinRegistry.Builder b)
    {
        b.Add("internal.member_2", 2, static (_, a) => Value.Bool(Member(a[0], a[1])), [BuiltinType.Any, BuiltinType.Any]);
        b.Add("internal.member_3", 3, static (_, a) => Value.Bool(MemberWithKey(a[0], a[1], a[2])), [BuiltinType.Any, BuiltinType.Any, BuiltinType.Any]);
    }

    /// <summary><c>x in xs</c>.</summary>
    public static bool Member(Value x, Value xs)
    {
        switch (xs)
        {
            case SetValue s: return s.Contains(x);
            case ArrayValue a:
                foreach (var v in a.Span) if (v.Equals(x)) return true;
                return false;
            case ObjectValue o:
                foreach (var e in o.Entries) if (e.Value.Equals(x)) return true;
                return false;
            default: return false;
        }
    }

    /// <summary><c>k, v in xs</c>.</summary>
    public static bool MemberWithKey(Value k, Value v, Value xs)
    {
        switch (xs)
        {
            case SetValue s: return s.Contains(k) && k.Equals(v);
            case ArrayValue a:
                return k is NumberValue n && n.TryGetInt64(out var i) && i >= 0 && i < a.Count && a[(int)i].Equals(v);
            case ObjectValue o:
                return o.TryGetValue(k, out var found) && found.Equals(v);
            default: return false;
        }
    }
}
