using System.Runtime.CompilerServices;
using Pdp.Rego.Values;

namespace Pdp.Rego.Builtins;

/// <summary>
/// Object built-ins: <c>object.get(obj, key, default)</c> (a key, or a path when the key is an array),
/// <c>object.keys</c>, <c>object.union</c> and <c>object.union_n</c> (recursive merge, right wins),
/// <c>object.remove</c> and <c>object.filter</c> (keys given as an array, set or object), and
/// <c>object.subset(super, sub)</c>.
/// </summary>
public static class Objects
{
    private static readonly BuiltinType KeyList = BuiltinType.Array | BuiltinType.Set | BuiltinType.Object;

    /// <summary>Registers the object built-ins.</summary>
    public static void Register(BuiltinRegistry.Builder b)
    {
        b.Add("object.get", 3, static (_, a) => Get(a), [BuiltinType.Object, BuiltinType.Any, BuiltinType.Any]);
        b.Add("object.keys", 1, static (_, a) => Keys(Operands.Obj("object.keys", a, 0)), [BuiltinType.Object]);
        b.Add("object.union", 2, static (_, a) => Union(a), [BuiltinType.Object, BuiltinType.Object]);
        b.Add("object.union_n", 1, static (_, a) => UnionN(Operands.Arr("object.union_n", a, 0)), [BuiltinType.Array]);
        b.Add("object.remove", 2, static (_, a) => Remove(a), [BuiltinType.Object, KeyList]);
        b.Add("object.filter", 2, static (_, a) => Filter(a), [BuiltinType.Object, KeyList]);
        b.Add("object.subset", 2, static (_, a) => Value.Bool(Subset(a[0], a[1])), [BuiltinType.Collection, BuiltinType.Collection]);
    }

    private static Value Get(ReadOnlySpan<Value> a)
    {
        var obj = Operands.Obj("object.get", a, 0);
        if (a[1] is not ArrayValue path) return obj.TryGetValue(a[1], out var v) ? v : a[2];
        if (path.Count == 0) return obj;
        Value current = obj;
        foreach (var key in path.Span)
        {
            switch (current)
            {
                case ObjectValue o when o.TryGetValue(key, out var next):
                    current = next;
                    break;
                case ArrayValue arr when key is NumberValue n && n.IsInteger && n.TryGetInt64(out var i) && i >= 0 && i < arr.Count:
                    current = arr[(int)i];
                    break;
                case SetValue s when s.Contains(key):
                    current = key;
                    break;
                default:
                    return a[2];
            }
        }
        return current;
    }

    private static SetValue Keys(ObjectValue o)
    {
        if (o.Count == 0) return SetValue.Empty;
        var keys = new Value[o.Count];
        var entries = o.Entries;
        for (int i = 0; i < keys.Length; i++) keys[i] = entries[i].Key;
        // Object keys are already sorted and distinct.
        return SetValue.Of(keys);
    }

    private static Value Union(ReadOnlySpan<Value> a)
    {
        var x = Operands.Obj("object.union", a, 0);
        var y = Operands.Obj("object.union", a, 1);
        if (x.Equals(y)) return x;
        return Merge(x, y);
    }

    /// <summary>Recursive merge: keys of both; where both values are objects they merge, else <paramref name="y"/>
    /// wins. Nesting deeper than the thread's stack allows is a built-in error, never a stack overflow.</summary>
    private static ObjectValue Merge(ObjectValue x, ObjectValue y)
    {
        if (y.Count == 0) return x;
        if (x.Count == 0) return y;
        if (!RuntimeHelpers.TryEnsureSufficientExecutionStack()) throw BuiltinException.Error("object.union", "objects nested too deeply");
        var b = new ObjectValue.Builder(x.Count + y.Count);
        foreach (var e in x.Entries)
        {
            if (y.TryGetValue(e.Key, out var yv))
                b.Set(e.Key, e.Value is ObjectValue xo && yv is ObjectValue yo ? Merge(xo, yo) : yv);
            else b.Set(e.Key, e.Value);
        }
        foreach (var e in y.Entries)
        {
            if (!x.ContainsKey(e.Key)) b.Set(e.Key, e.Value);
        }
        return b.Build();
    }

    private static ObjectValue UnionN(ArrayValue arr)
    {
        // OPA merges back to front, and a key whose value is overwritten by a non-object is frozen: earlier objects
        // no longer merge into it. Front-to-back merging with the same rule gives the same result: a later
        // non-object replaces, a later object merges into an earlier object and replaces anything else.
        ObjectValue result = ObjectValue.Empty;
        foreach (var v in arr.Span)
        {
            if (v is not ObjectValue o) throw Operands.Element("object.union_n", 1, arr, v, "object");
            result = result.Count == 0 ? o : Merge(result, o);
        }
        return result;
    }

    private static SetValue KeysParam(string name, Value v)
    {
        switch (v)
        {
            case SetValue s: return s;
            case ArrayValue a: return SetValue.Of(a.Items);
            case ObjectValue o: return Keys(o);
            default: throw BuiltinException.OperandType(name, 2, "one of {object, set, array}", v);
        }
    }

    private static Value Remove(ReadOnlySpan<Value> a)
    {
        var obj = Operands.Obj("object.remove", a, 0);
        var keys = KeysParam("object.remove", a[1]);
        if (keys.Count == 0) return obj;
        var b = new ObjectValue.Builder(obj.Count);
        bool removed = false;
        foreach (var e in obj.Entries)
        {
            if (keys.Contains(e.Key)) removed = true;
            else b.Set(e.Key, e.Value);
        }
        return removed ? b.Build() : obj;
    }

    private static Value Filter(ReadOnlySpan<Value> a)
    {
        var obj = Operands.Obj("object.filter", a, 0);
        var keys = KeysParam("object.filter", a[1]);
        var b = new ObjectValue.Builder(Math.Min(obj.Count, keys.Count));
        foreach (var k in keys.Span)
        {
            if (obj.TryGetValue(k, out var v)) b.Set(k, v);
        }
        return b.Build();
    }

    /// <summary><c>object.subset(super, sub)</c> as OPA defines it (objects recursively; sets by membership; arrays
    /// as a contiguous run; a set within an array by membership). Other type pairs are an operand error.</summary>
    public static bool Subset(Value super, Value sub)
    {
        return (super, sub) switch
        {
            (ObjectValue x, ObjectValue y) => ObjectSubset(x, y),
            (SetValue x, SetValue y) => SetSubset(x, y),
            (ArrayValue x, ArrayValue y) => ArraySubset(x, y),
            (ArrayValue x, SetValue y) => ArraySetSubset(x, y),
            _ => throw new BuiltinException("eval_type_error", "object.subset: both arguments object.subset must be of the same type or array and set"),
        };
    }

    private static bool ObjectSubset(ObjectValue super, ObjectValue sub)
    {
        if (!RuntimeHelpers.TryEnsureSufficientExecutionStack()) throw BuiltinException.Error("object.subset", "objects nested too deeply");
        foreach (var e in sub.Entries)
        {
            if (!super.TryGetValue(e.Key, out var sv)) return false;
            if (e.Value.Equals(sv)) continue;
            bool ok = (sv, e.Value) switch
            {
                (ObjectValue x, ObjectValue y) => ObjectSubset(x, y),
                (SetValue x, SetValue y) => SetSubset(x, y),
                (ArrayValue x, ArrayValue y) => ArraySubset(x, y),
                _ => false,
            };
            if (!ok) return false;
        }
        return true;
    }

    private static bool SetSubset(SetValue super, SetValue sub)
    {
        foreach (var v in sub.Span) if (!super.Contains(v)) return false;
        return true;
    }

    private static bool ArraySubset(ArrayValue super, ArrayValue sub)
    {
        if (sub.Count > super.Count) return false;
        if (sub.Count == 0) return true;
        for (int start = 0; start + sub.Count <= super.Count; start++)
        {
            int j = 0;
            while (j < sub.Count && super[start + j].Equals(sub[j])) j++;
            if (j == sub.Count) return true;
        }
        return false;
    }

    private static bool ArraySetSubset(ArrayValue super, SetValue sub)
    {
        // OPA counts matching array elements (duplicates included) down from the set's size and answers true once
        // the count reaches zero while scanning; an empty array is never a superset.
        int unmatched = sub.Count;
        foreach (var v in super.Span)
        {
            if (sub.Contains(v)) unmatched--;
            if (unmatched == 0) return true;
        }
        return false;
    }
}
