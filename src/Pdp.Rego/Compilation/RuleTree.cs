using Pdp.Rego.Values;

namespace Pdp.Rego.Compilation;

/// <summary>
/// One node of the rule tree: a path under <c>data</c> (package segments, then rule ref segments). Rules are
/// mounted at the node of their static prefix. Immutable after compilation.
/// </summary>
internal sealed class RuleNode
{
    public RuleNode(Value key, Value[] path)
    {
        Key = key;
        Path = path;
        PathString = "data" + string.Concat(path.Select(p => p is StringValue s ? "." + s.Value : "[" + p + "]"));
    }

    /// <summary>The last segment of <see cref="Path"/>.</summary>
    public Value Key { get; }
    public Value[] Path { get; }
    public string PathString { get; }
    public Dictionary<Value, RuleNode> Children { get; } = new();
    /// <summary>Non-default rules mounted here (chain heads), in source order.</summary>
    public List<CRule> Rules { get; } = new();
    /// <summary>The <c>default</c> rule, if any.</summary>
    public CRule? Default { get; set; }
    /// <summary>Kind of the rules mounted here (all must agree, checked at compile time).</summary>
    public RuleKind? Kind { get; set; }
    /// <summary>Function arity when <see cref="Kind"/> is Function.</summary>
    public int Arity { get; set; } = -1;
    /// <summary>Index over <see cref="Rules"/> (null = evaluate all).</summary>
    public RuleIndex? Index { get; set; }
    /// <summary>Unique id for per-evaluation caches of node values.</summary>
    public int Id { get; set; }
    /// <summary>Dense id among nodes with rules (for the per-evaluation rule value cache), or -1.</summary>
    public int RuleId { get; set; } = -1;
    /// <summary><see cref="Rules"/> as an array (filled at the end of compilation).</summary>
    public CRule[] RulesArray { get; set; } = [];
    /// <summary>
    /// True when the rules here do not depend on <c>input</c> or on anything nondeterministic (see
    /// <see cref="Purity"/>): their value may be computed once per compiled policy and shared.
    /// </summary>
    public bool Shareable { get; set; }
    /// <summary>
    /// Every definition here has the same constant value and no else (e.g. several <c>allow if ...</c> or
    /// <c>f(x) if ...</c>): once one body succeeds the value is known, so the rest need not run (as OPA's early exit).
    /// </summary>
    public bool ConstAll { get; set; }

    public bool HasRules => Rules.Count > 0 || Default is not null;

    public RuleNode GetOrAdd(Value key)
    {
        if (!Children.TryGetValue(key, out var child))
        {
            var p = new Value[Path.Length + 1];
            Path.CopyTo(p, 0);
            p[^1] = key;
            child = new RuleNode(key, p);
            Children.Add(key, child);
        }
        return child;
    }

    /// <summary>The node at <paramref name="path"/> (relative), or null.</summary>
    public RuleNode? Find(ReadOnlySpan<Value> path)
    {
        var n = this;
        foreach (var k in path)
        {
            if (!n.Children.TryGetValue(k, out n!)) return null;
        }
        return n;
    }
}

/// <summary>
/// An index over the rules of one node: many rules test <c>REF == constant</c> on the same input/data ref
/// (e.g. <c>input.tool.name == "read_file"</c>); evaluation reads the ref once and visits only the rules whose
/// constant matches, plus the rules without such a test, in source order.
/// </summary>
internal sealed class RuleIndex
{
    public required TRef Ref { get; init; }
    /// <summary>Rule positions (in the node's Rules list) per constant.</summary>
    public required Dictionary<Value, int[]> ByValue { get; init; }
    /// <summary>Rule positions without a test on <see cref="Ref"/>.</summary>
    public required int[] Unindexed { get; init; }
    /// <summary>Cached merged candidate lists per constant (built at compile time).</summary>
    public required Dictionary<Value, CRule[]> Candidates { get; init; }
    public required CRule[] UnindexedRules { get; init; }

    /// <summary>Builds an index for <paramref name="rules"/>, or null when no ref is tested by at least two rules.</summary>
    public static RuleIndex? Build(List<CRule> rules)
    {
        if (rules.Count < 4) return null;
        // For each rule, the (ref, constant) equality tests of its top-level body.
        var perRule = new List<(string Key, TRef Ref, Value C)>[rules.Count];
        var counts = new Dictionary<string, (int Count, TRef Ref)>();
        for (int i = 0; i < rules.Count; i++)
        {
            var list = new List<(string, TRef, Value)>();
            var r = rules[i];
            if (r.Else is null)
            {
                foreach (var x in r.Body)
                {
                    if (x.Negated || x.With.Length > 0) continue;
                    if (TryEquality(x, out var rf, out var c))
                    {
                        var key = RefKey(rf);
                        if (list.Exists(e => e.Item1 == key)) continue;
                        list.Add((key, rf, c));
                        counts[key] = counts.TryGetValue(key, out var prev) ? (prev.Count + 1, prev.Ref) : (1, rf);
                    }
                }
            }
            perRule[i] = list;
        }
        string? best = null; int bestCount = 1; TRef? bestRef = null;
        foreach (var (k, (n, rf)) in counts)
        {
            if (n > bestCount || (n == bestCount && best is not null && string.CompareOrdinal(k, best) < 0 && n > 1))
            {
                best = k; bestCount = n; bestRef = rf;
            }
        }
        if (best is null || bestRef is null) return null;
        var byValue = new Dictionary<Value, List<int>>();
        var unindexed = new List<int>();
        for (int i = 0; i < rules.Count; i++)
        {
            var hit = perRule[i].Find(e => e.Key == best);
            if (hit.Key is null) { unindexed.Add(i); continue; }
            if (!byValue.TryGetValue(hit.C, out var l)) byValue[hit.C] = l = new List<int>();
            l.Add(i);
        }
        var cands = new Dictionary<Value, CRule[]>();
        foreach (var (v, l) in byValue)
        {
            var merged = new List<int>(l.Count + unindexed.Count);
            merged.AddRange(l);
            merged.AddRange(unindexed);
            merged.Sort();
            cands[v] = merged.Select(i => rules[i]).ToArray();
        }
        return new RuleIndex
        {
            Ref = bestRef,
            ByValue = byValue.ToDictionary(e => e.Key, e => e.Value.ToArray()),
            Unindexed = unindexed.ToArray(),
            Candidates = cands,
            UnindexedRules = unindexed.Select(i => rules[i]).ToArray(),
        };
    }

    private static bool TryEquality(X x, out TRef rf, out Value c)
    {
        rf = null!; c = null!;
        T? a = null, b = null;
        if (x is XUnify u) { a = u.Left; b = u.Right; }
        else if (x is XTerm { Term: TCall { Intrinsic: Intrinsic.Equal or Intrinsic.None, Name: "equal", Args.Length: 2 } call }) { a = call.Args[0]; b = call.Args[1]; }
        if (a is null || b is null) return false;
        if (b is TRef && a is TConst) (a, b) = (b, a);
        if (a is TRef r && b is TConst k && IsIndexableRef(r)) { rf = r; c = k.Value; return true; }
        return false;
    }

    private static bool IsIndexableRef(TRef r)
    {
        if (r.Root is null) return false;
        foreach (var p in r.Path) if (p is not TConst) return false;
        return true;
    }

    private static string RefKey(TRef r) => r.Root + ":" + string.Join("\u0001", r.Path.Select(p => ((TConst)p).Value.ToString()));
}
