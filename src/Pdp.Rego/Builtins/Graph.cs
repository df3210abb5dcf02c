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
        var graph = MoreOperands.Obj(name, args, 0);
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
        var graph = MoreOperands.Obj(name, args, 0);
        var result = new SetValue.Builder();
        int budget = MaxPathVisits;
        foreach (var node in Initial(name, args[1]))
        {
            if (!graph.TryGetValue(node, out var edges)) continue;
            var neighbours = Vertices(edges);
            if (neighbours.Count == 0) { result.Add(new ArrayValue([node])); continue; }
            foreach (var first in neighbours) Walk(ctx, graph, node, first, result, ref budget);
        }
        return result.Build();
    }

    private sealed class Frame(Value root, List<Value> path, IReadOnlyList<Value> neighbours)
    {
        public readonly Value Root = root;
        public readonly List<Value> Path = path;
        public readonly IReadOnlyList<Value> Neighbours = neighbours;
        public int Next;
    }

    private static void Walk(BuiltinContext ctx, ObjectValue graph, Value start, Value first, SetValue.Builder result, ref int budget)
    {
        // Nodes on the current path (each appears at most once on it, so a set suffices).
        var onPath = new HashSet<Value> { start };
        var stack = new Stack<Frame>();
        // Visiting a node: in the graph, it extends the path; otherwise the path so far is a result.
        void Visit(Value root, List<Value> path)
        {
            if (!graph.TryGetValue(root, out var edges)) { result.Add(new ArrayValue(path.ToArray())); return; }
            var extended = new List<Value>(path) { root };
            var neighbours = Vertices(edges);
            if (neighbours.Count == 0) { result.Add(new ArrayValue(extended.ToArray())); return; }
            onPath.Add(root);
            stack.Push(new Frame(root, extended, neighbours));
        }
        Visit(first, [start]);
        while (stack.Count > 0)
        {
            if (--budget < 0) throw BuiltinException.Error("graph.reachable_paths", $"more than {MaxPathVisits} path steps");
            var f = stack.Peek();
            if (f.Next >= f.Neighbours.Count) { stack.Pop(); onPath.Remove(f.Root); continue; }
            var n = f.Neighbours[f.Next++];
            if (onPath.Contains(n)) { result.Add(new ArrayValue(f.Path.ToArray())); continue; }
            Visit(n, f.Path);
        }
    }
}
