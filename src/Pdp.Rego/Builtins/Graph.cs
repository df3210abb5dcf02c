using Pdp.Rego.Values;

namespace Pdp.Rego.Builtins;

/// <summary>
/// <c>graph.reachable(graph, initial)</c> and <c>graph.reachable_paths(graph, initial)</c>. A graph is an object
/// from node to its neighbours (a set or an array; other values count as no edges); <c>initial</c> is a set or
/// array of nodes. Both walk iteratively, so deep graphs cannot overflow the stack.
/// </summary>
public static class GraphBuiltins
{
    /// <summary>Registers the graph built-ins.</summary>
    public static void Register(BuiltinRegistry.Builder b)
    {
        b.Add("graph.reachable", 2, Reachable, [BuiltinType.Object, BuiltinType.Array | BuiltinType.Set]);
        b.Add("graph.reachable_paths", 2, ReachablePaths, [BuiltinType.Object, BuiltinType.Array | BuiltinType.Set]);
    }

    private static IReadOnlyList<Value> Vertices(Value v) => v switch
    {
        SetValue s => s.Items,
        ArrayValue a => a.Items,
        _ => [],
    };

    private static IReadOnlyList<Value> Initial(string name, Value v) => v switch
    {
        SetValue s => s.Items,
        ArrayValue a => a.Items,
        _ => throw BuiltinException.OperandType(name, 2, "{array, set}", v),
    };

    /// <summary>Every node reachable from the initial nodes (initial nodes included when they are in the graph).</summary>
    private static Value Reachable(BuiltinContext ctx, ReadOnlySpan<Value> args)
    {
        const string name = "graph.reachable";
        var graph = Operands.Obj(name, args, 0);
        var queue = new Queue<Value>(Initial(name, args[1]));
        var reached = new HashSet<Value>();
        while (queue.Count > 0)
        {
            var node = queue.Dequeue();
            if (reached.Contains(node) || !graph.TryGetValue(node, out var edges)) continue;
            reached.Add(node);
            foreach (var n in Vertices(edges)) if (!reached.Contains(n)) queue.Enqueue(n);
        }
        return SetValue.Of(reached);
    }

    /// <summary>Most nodes one <c>graph.reachable_paths</c> call may visit: the number of paths can grow
    /// exponentially with the graph, so a bound turns a runaway evaluation into an error.</summary>
    public const int MaxPathVisits = 1_000_000;

    /// <summary>The paths from each initial node, as OPA builds them: a depth-first walk that ends a path at a
    /// node already on it (a cycle), at a node without edges, and before a node missing from the graph.</summary>
    private static Value ReachablePaths(BuiltinContext ctx, ReadOnlySpan<Value> args)
    {
        const string name = "graph.reachable_paths";
        var graph = Operands.Obj(name, args, 0);
        var result = new SetValue.Builder();
        int budget = MaxPathVisits;
        foreach (var node in Initial(name, args[1]))
        {
            if (!graph.TryGetValue(node, out var edges)) continue;
            var neighbours = Vertices(edges);
            if (neighbours.Count == 0) { result.Add(new ArrayValue([node])); continue; }
            foreach (var first in neighbours) Walk(graph, node, first, result, ref budget);
        }
        return result.Build();
    }

    /// <summary>A path as a linked list from its last node back to its first, so extending it is O(1) and
    /// sibling branches share their common prefix.</summary>
    private sealed class PathNode(Value node, PathNode? parent)
    {
        public readonly Value Node = node;
        public readonly PathNode? Parent = parent;
        public readonly int Length = (parent?.Length ?? 0) + 1;

        public ArrayValue ToArray()
        {
            var items = new Value[Length];
            for (var p = this; p is not null; p = p.Parent) items[p.Length - 1] = p.Node;
            return new ArrayValue(items);
        }
    }

    private sealed class Frame(Value root, PathNode path, IReadOnlyList<Value> neighbours)
    {
        public readonly Value Root = root;
        public readonly PathNode Path = path;
        public readonly IReadOnlyList<Value> Neighbours = neighbours;
        public int Next;
    }

    private static void Walk(ObjectValue graph, Value start, Value first, SetValue.Builder result, ref int budget)
    {
        // Nodes on the current path (each appears at most once on it, so a set suffices).
        var onPath = new HashSet<Value> { start };
        var stack = new Stack<Frame>();
        // Visiting a node: in the graph, it extends the path; otherwise the path so far is a result.
        void Visit(Value root, PathNode path)
        {
            if (!graph.TryGetValue(root, out var edges)) { result.Add(path.ToArray()); return; }
            var extended = new PathNode(root, path);
            var neighbours = Vertices(edges);
            if (neighbours.Count == 0) { result.Add(extended.ToArray()); return; }
            onPath.Add(root);
            stack.Push(new Frame(root, extended, neighbours));
        }
        Visit(first, new PathNode(start, null));
        while (stack.Count > 0)
        {
            if (--budget < 0) throw BuiltinException.Error("graph.reachable_paths", $"more than {MaxPathVisits} path steps");
            var f = stack.Peek();
            if (f.Next >= f.Neighbours.Count) { stack.Pop(); onPath.Remove(f.Root); continue; }
            var n = f.Neighbours[f.Next++];
            if (onPath.Contains(n)) { result.Add(f.Path.ToArray()); continue; }
            Visit(n, f.Path);
        }
    }
}
