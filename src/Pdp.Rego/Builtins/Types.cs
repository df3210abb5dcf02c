using Pdp.Rego.Values;

namespace Pdp.Rego.Builtins;

/// <summary>
/// Type built-ins: <c>is_number is_string is_boolean is_array is_set is_object is_null</c> (true or false, never
/// undefined) and <c>type_name</c> (<c>"null" "boolean" "number" "string" "array" "object" "set"</c>).
/// </summary>
public static class Types
{
    private static readonly BuiltinType[] AnyOne = [BuiltinType.Any];
    private static readonly StringValue[] Names =
    [
        new("null"), new("boolean"), new("number"), new("string"), new("array"), new("object"), new("set"),
    ];

    /// <summary>Registers the type built-ins.</summary>
    public static void Register(BuiltinRegistry.Builder b)
    {
        b.Add("is_number", 1, static (_, a) => Value.Bool(a[0].Kind == ValueKind.Number), AnyOne);
        b.Add("is_string", 1, static (_, a) => Value.Bool(a[0].Kind == ValueKind.String), AnyOne);
        b.Add("is_boolean", 1, static (_, a) => Value.Bool(a[0].Kind == ValueKind.Boolean), AnyOne);
        b.Add("is_array", 1, static (_, a) => Value.Bool(a[0].Kind == ValueKind.Array), AnyOne);
        b.Add("is_set", 1, static (_, a) => Value.Bool(a[0].Kind == ValueKind.Set), AnyOne);
        b.Add("is_object", 1, static (_, a) => Value.Bool(a[0].Kind == ValueKind.Object), AnyOne);
        b.Add("is_null", 1, static (_, a) => Value.Bool(a[0].Kind == ValueKind.Null), AnyOne);
        b.Add("type_name", 1, static (_, a) => TypeName(a[0]), AnyOne);
    }

    /// <summary>The shared type-name string of <paramref name="v"/>.</summary>
    public static StringValue TypeName(Value v) => v.Kind switch
    {
        ValueKind.Null => Names[0],
        ValueKind.Boolean => Names[1],
        ValueKind.Number => Names[2],
        ValueKind.String => Names[3],
        ValueKind.Array => Names[4],
        ValueKind.Object => Names[5],
        _ => Names[6],
    };
}
