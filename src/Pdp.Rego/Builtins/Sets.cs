using Pdp.Rego.Values;

namespace Pdp.Rego.Builtins;

/// <summary>
/// Set built-ins: the operators <c>and</c> (<c>&amp;</c>, intersection) and <c>or</c> (<c>|</c>, union), and
/// <c>intersection(set_of_sets)</c> and <c>union(set_of_sets)</c>. (<c>minus</c> of sets lives with arithmetic.)
/// </summary>
public static class Sets
{
    /// <summary>Registers the set built-ins.</summary>
    public static void Register(BuiltinRegistry.Builder b)
    {
        b.Add("and", 2, static (_, a) => Operands.Set("and", a, 0).Intersect(Operands.Set("and", a, 1)), [BuiltinType.Set, BuiltinType.Set]);
        b.Add("or", 2, static (_, a) => Operands.Set("or", a, 0).Union(Operands.Set("or", a, 1)), [BuiltinType.Set, BuiltinType.Set]);
        b.Add("intersection", 1, static (_, a) => Intersection(Operands.Set("intersection", a, 0)), [BuiltinType.Set]);
        b.Add("union", 1, static (_, a) => Union(Operands.Set("union", a, 0)), [BuiltinType.Set]);
    }

    private static SetValue Intersection(SetValue sets)
    {
        SetValue? result = null;
        foreach (var v in sets.Span)
        {
            if (v is not SetValue s) throw BuiltinException.OperandType("intersection", 1, "set", v);
            result = result is null ? s : result.Intersect(s);
        }
        return result ?? SetValue.Empty;
    }

    private static SetValue Union(SetValue sets)
    {
        SetValue result = SetValue.Empty;
        foreach (var v in sets.Span)
        {
            if (v is not SetValue s) throw BuiltinException.OperandType("union", 1, "set", v);
            result = result.Union(s);
        }
        return result;
    }
}
