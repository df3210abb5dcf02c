using System.Globalization;
using Pdp.Rego.Values;

namespace Pdp.Rego.Builtins;

/// <summary>
/// <c>json.filter</c>, <c>json.remove</c> and <c>json.patch</c> (RFC 6902 as OPA applies it). A path is a string
/// <c>"a/b/0"</c> (a leading "/" is optional; <c>~1</c> and <c>~0</c> unescape to "/" and "~") or an array of
/// segments. Array elements are addressed by decimal index strings (numbers too, in json.patch paths).
/// </summary>
public static class JsonBuiltins
{
    /// <summary>Registers the JSON document built-ins.</summary>
    public static void Register(BuiltinRegistry.Builder b)
    {
        b.Add("json.filter", 2, Filter, [BuiltinType.Object, BuiltinType.Array | BuiltinType.Set]);
        b.Add("json.remove", 2, Remove, [BuiltinType.Object, BuiltinType.Array | BuiltinType.Set]);
        b.Add("json.patch", 2, Patch, [BuiltinType.Any, BuiltinType.Array]);
    }

    private const int MaxDepth = 10_000;

    /// <summary>Parses one path operand element into segments; null for the empty path "".</summary>
    private static Value[] ParsePath(string name, Value p, int operand)
    {
        switch (p)
        {
            case StringValue s:
            {
                if (s.Value.Length == 0) return [];
                var parts = s.Value.TrimStart('/').Split('/');
                var segs = new Value[parts.Length];
                for (int i = 0; i < parts.Length; i++) segs[i] = new StringValue(parts[i].Replace("~1", "/").Replace("~0", "~"));
                return segs;
            }
            case ArrayValue a: return a.Span.ToArray();
            default:
                throw new BuiltinException("eval_type_error", $"{name}: operand {operand} must be one of {{set, array}} containing string paths or array of path segments but got {p.TypeName}");
        }
    }

    private static List<Value[]> Paths(string name, Value operand)
    {
        IReadOnlyList<Value> items = operand switch
        {
            SetValue s => s.Items,
            ArrayValue a => a.Items,
            _ => throw BuiltinException.OperandType(name, 2, "one of {set, array}", operand),
        };
        return items.Select(p => ParsePath(name, p, 2)).ToList();
    }

    /// <summary>A tree of the paths: inner nodes are dictionaries, a null leaf keeps/removes the whole subtree. A
    /// shorter path wins over a longer one that extends it, in any order.</summary>
    private sealed class PathTree
    {
        public readonly Dictionary<Value, PathTree?> Children = new();

        public static PathTree Build(List<Value[]> paths)
        {
            var root = new PathTree();
            foreach (var path in paths)
            {
                if (path.Length == 0) continue;
                var node = root;
                bool done = false;
                for (int i = 0; i < path.Length - 1 && !done; i++)
                {
                    if (!node.Children.TryGetValue(path[i], out var child))
                    {
                        child = new PathTree();
                        node.Children[path[i]] = child;
                    }
                    else if (child is null) done = true;
                    if (!done) node = child!;
                }
                if (!done) node.Children[path[^1]] = null;
            }
            return root;
        }

        public bool TryGet(Value key, out PathTree? child) => Children.TryGetValue(key, out child);
    }

    private static Value Filter(BuiltinContext ctx, ReadOnlySpan<Value> args)
    {
        const string name = "json.filter";
        var obj = Operands.Obj(name, args, 0);
        var tree = PathTree.Build(Paths(name, args[1]));
        return FilterValue(obj, tree, 0);
    }

    private static Value FilterValue(Value v, PathTree? filter, int depth)
    {
        if (filter is null) return v;
        if (depth > MaxDepth) throw BuiltinException.Error("json.filter", "document nested too deeply");
        switch (v)
        {
            case ArrayValue a:
            {
                var items = new List<Value>();
                for (int i = 0; i < a.Count; i++)
                    if (filter.TryGet(new StringValue(i.ToString(CultureInfo.InvariantCulture)), out var sub)) items.Add(FilterValue(a[i], sub, depth + 1));
                return new ArrayValue(items.ToArray());
            }
            case SetValue s:
            {
                var b = new SetValue.Builder();
                foreach (var e in s.Span) if (filter.TryGet(e, out var sub)) b.Add(FilterValue(e, sub, depth + 1));
                return b.Build();
            }
            case ObjectValue o:
            {
                var b = new ObjectValue.Builder();
                foreach (var kv in o.Entries) if (filter.TryGet(kv.Key, out var sub)) b.Set(kv.Key, FilterValue(kv.Value, sub, depth + 1));
                return b.Build();
            }
            default: return v;
        }
    }

    private static Value Remove(BuiltinContext ctx, ReadOnlySpan<Value> args)
    {
        const string name = "json.remove";
        var obj = Operands.Obj(name, args, 0);
        var tree = PathTree.Build(Paths(name, args[1]));
        return RemoveValue(obj, tree, 0) ?? ObjectValue.Empty;
    }

    /// <summary>The value without the paths of <paramref name="tree"/>; null when the value itself is removed.</summary>
    private static Value? RemoveValue(Value v, PathTree? tree, int depth)
    {
        if (tree is null) return null;
        if (tree.Children.Count == 0) return v;
        if (depth > MaxDepth) throw BuiltinException.Error("json.remove", "document nested too deeply");
        switch (v)
        {
            case ObjectValue o:
            {
                var b = new ObjectValue.Builder(o.Count);
                foreach (var kv in o.Entries)
                {
                    var kept = tree.TryGet(kv.Key, out var sub) ? RemoveValue(kv.Value, sub, depth + 1) : kv.Value;
                    if (kept is not null) b.Set(kv.Key, kept);
                }
                return b.Build();
            }
            case SetValue s:
            {
                var b = new SetValue.Builder();
                foreach (var e in s.Span)
                {
                    var kept = tree.TryGet(e, out var sub) ? RemoveValue(e, sub, depth + 1) : e;
                    if (kept is not null) b.Add(kept);
                }
                return b.Build();
            }
            case ArrayValue a:
            {
                // Removed elements close up, as JSON patch does.
                var items = new List<Value>(a.Count);
                for (int i = 0; i < a.Count; i++)
                {
                    var kept = tree.TryGet(new StringValue(i.ToString(CultureInfo.InvariantCulture)), out var sub) ? RemoveValue(a[i], sub, depth + 1) : a[i];
                    if (kept is not null) items.Add(kept);
                }
                return new ArrayValue(items.ToArray());
            }
            default: return v;
        }
    }

    // ------------------------------------------------------------------ json.patch

    private static Value? Patch(BuiltinContext ctx, ReadOnlySpan<Value> args)
    {
        const string name = "json.patch";
        var doc = args[0];
        var patches = Operands.Arr(name, args, 1);
        foreach (var p in patches.Span)
        {
            if (p is not ObjectValue op) throw BuiltinException.OperandType(name, 2, "array of objects", args[1]);
            var result = ApplyOne(name, doc, op);
            // A patch that cannot apply (missing path, failed test) makes the result undefined.
            if (result is null) return null;
            doc = result;
        }
        return doc;
    }

    private static Value? ApplyOne(string name, Value doc, ObjectValue op)
    {
        if (op["op"] is not StringValue kind) throw BuiltinException.Error(name, "patch is missing the \"op\" field");
        if (op["path"] is not { } pathValue) throw BuiltinException.Error(name, "patch is missing the \"path\" field");
        var path = pathValue is StringValue or ArrayValue ? ParsePatchPath(pathValue) : throw BuiltinException.Error(name, "patch \"path\" must be a string or an array");
        switch (kind.Value)
        {
            case "add":
                return op["value"] is { } addValue ? Add(doc, path, 0, addValue) : throw BuiltinException.Error(name, "add patch is missing the \"value\" field");
            case "remove":
                return RemoveAt(doc, path, 0);
            case "replace":
            {
                if (op["value"] is not { } value) throw BuiltinException.Error(name, "replace patch is missing the \"value\" field");
                if (Get(doc, path) is null) return null;
                if (path.Length == 0) return value;
                var removed = RemoveAt(doc, path, 0);
                return removed is null ? null : Add(removed, path, 0, value);
            }
            case "move":
            {
                var from = op["from"] is { } f and (StringValue or ArrayValue) ? ParsePatchPath(f) : throw BuiltinException.Error(name, "move patch is missing the \"from\" field");
                var value = Get(doc, from);
                if (value is null) return null;
                var removed = RemoveAt(doc, from, 0);
                return removed is null ? null : Add(removed, path, 0, value);
            }
            case "copy":
            {
                var from = op["from"] is { } f and (StringValue or ArrayValue) ? ParsePatchPath(f) : throw BuiltinException.Error(name, "copy patch is missing the \"from\" field");
                var value = Get(doc, from);
                return value is null ? null : Add(doc, path, 0, value);
            }
            case "test":
            {
                if (op["value"] is not { } value) throw BuiltinException.Error(name, "test patch is missing the \"value\" field");
                var actual = Get(doc, path);
                return actual is not null && actual.Equals(value) ? doc : null;
            }
            default:
                throw BuiltinException.Error(name, $"unknown patch operation {Value.JsonQuote(kind.Value)}");
        }
    }

    private static Value[] ParsePatchPath(Value p)
    {
        if (p is StringValue s)
        {
            if (s.Value.Length == 0) return [];
            return s.Value.TrimStart('/').Split('/').Select(x => (Value)new StringValue(x.Replace("~1", "/").Replace("~0", "~"))).ToArray();
        }
        return ((ArrayValue)p).Span.ToArray();
    }

    /// <summary>An array index segment: a decimal string without sign or leading zeros, or an integer number.</summary>
    private static bool TryIndex(Value seg, out int index)
    {
        index = -1;
        if (seg is NumberValue n) return n.TryGetInt32(out index) && index >= 0;
        if (seg is not StringValue s || s.Value.Length == 0 || s.Value.Length > 9) return false;
        if (s.Value.Length > 1 && s.Value[0] == '0') return false;
        foreach (var c in s.Value) if (!char.IsAsciiDigit(c)) return false;
        index = int.Parse(s.Value, CultureInfo.InvariantCulture);
        return true;
    }

    private static Value? Get(Value doc, Value[] path)
    {
        var cur = doc;
        foreach (var seg in path)
        {
            switch (cur)
            {
                case ObjectValue o: if (!o.TryGetValue(seg, out cur!)) return null; break;
                case ArrayValue a: if (!TryIndex(seg, out var i) || i >= a.Count) return null; cur = a[i]; break;
                case SetValue s: if (!s.Contains(seg)) return null; cur = seg; break;
                default: return null;
            }
        }
        return cur;
    }

    private static Value? Add(Value doc, Value[] path, int at, Value value)
    {
        if (at == path.Length) return value;
        var seg = path[at];
        bool last = at == path.Length - 1;
        switch (doc)
        {
            case ObjectValue o:
                if (last) return o.With(seg, value);
                if (!o.TryGetValue(seg, out var child)) return null;
                var newChild = Add(child, path, at + 1, value);
                return newChild is null ? null : o.With(seg, newChild);
            case ArrayValue a:
            {
                int i;
                if (last && seg is StringValue { Value: "-" }) i = a.Count;
                else if (!TryIndex(seg, out i)) return null;
                if (last)
                {
                    if (i > a.Count) return null;
                    var items = new Value[a.Count + 1];
                    a.Span[..i].CopyTo(items);
                    items[i] = value;
                    a.Span[i..].CopyTo(items.AsSpan(i + 1));
                    return new ArrayValue(items);
                }
                if (i >= a.Count) return null;
                var updated = Add(a[i], path, at + 1, value);
                if (updated is null) return null;
                var copy = a.Span.ToArray();
                copy[i] = updated;
                return new ArrayValue(copy);
            }
            case SetValue s:
                // Adding to a set inserts the value (the last segment names it); deeper paths go through members.
                if (last) return s.Union(SetValue.Of([value]));
                if (!s.Contains(seg)) return null;
                var inner = Add(seg, path, at + 1, value);
                return inner is null ? null : SetValue.Of(s.Items.Where(e => !e.Equals(seg)).Append(inner));
            default:
                return null;
        }
    }

    private static Value? RemoveAt(Value doc, Value[] path, int at)
    {
        if (path.Length == 0) return null; // removing the whole document is not allowed
        var seg = path[at];
        bool last = at == path.Length - 1;
        switch (doc)
        {
            case ObjectValue o:
            {
                if (!o.TryGetValue(seg, out var child)) return null;
                if (last) return o.Without(seg);
                var updated = RemoveAt(child, path, at + 1);
                return updated is null ? null : o.With(seg, updated);
            }
            case ArrayValue a:
            {
                if (!TryIndex(seg, out var i) || i >= a.Count) return null;
                if (last) return new ArrayValue([.. a.Span[..i], .. a.Span[(i + 1)..]]);
                var updated = RemoveAt(a[i], path, at + 1);
                if (updated is null) return null;
                var copy = a.Span.ToArray();
                copy[i] = updated;
                return new ArrayValue(copy);
            }
            case SetValue s:
            {
                if (!s.Contains(seg)) return null;
                if (last) return s.Except(SetValue.Of([seg]));
                var updated = RemoveAt(seg, path, at + 1);
                return updated is null ? null : SetValue.Of(s.Items.Where(e => !e.Equals(seg)).Append(updated));
            }
            default:
                return null;
        }
    }
}
