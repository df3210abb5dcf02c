using Pdp.Rego.Values;

namespace Pdp.Rego.Builtins;

/// <summary>
/// Comparison operators as OPA names them: <c>equal</c> (<c>==</c>), <c>neq</c> (<c>!=</c>), <c>lt</c>, <c>lte</c>,
/// <c>gt</c>, <c>gte</c>. Operands may be of any type and compare by OPA's total order (null &lt; boolean &lt;
/// number &lt; string &lt; array &lt; object &lt; set; <c>1 == 1.0</c>). Results are booleans, never undefined.
/// </summary>
public static class Comparison
{
    private static readonly BuiltinType[] AnyAny = [BuiltinType.Any, BuiltinType.Any];

    /// <summary>Registers the comparison operators.</summary>
    public static void Register(BuiltinRegistry.Builder b)
    {
        b.Add("equal", 2, static (_, a) => Value.Bool(a[0].Equals(a[1])), AnyAny);
        b.Add("neq", 2, static (_, a) => Value.Bool(!a[0].Equals(a[1])), AnyAny);
        b.Add("lt", 2, static (_, a) => Value.Bool(a[0].CompareTo(a[1]) < 0), AnyAny);
        b.Add("lte", 2, static (_, a) => Value.Bool(a[0].CompareTo(a[1]) <= 0), AnyAny);
        b.Add("gt", 2, static (_, a) => Value.Bool(a[0].CompareTo(a[1]) > 0), AnyAny);
        b.Add("gte", 2, static (_, a) => Value.Bool(a[0].CompareTo(a[1]) >= 0), AnyAny);
    }
}
