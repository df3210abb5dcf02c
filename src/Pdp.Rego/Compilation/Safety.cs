namespace Pdp.Rego.Compilation;

// Safety (OPA's reorderBodyForSafety): an expression can run once the variables it reads are bound; it then binds
// its outputs (unification sides, ref iteration variables, `some ... in` patterns). Bodies are reordered greedily,
// keeping source order where possible; variables that can never be bound are rego_unsafe_var_error.
internal sealed partial class Compiler
{
    /// <summary>Variables a term reads when evaluated (<paramref name="needs"/>) and binds by iteration (<paramref name="binds"/>).</summary>
    internal static void VarsEval(T t, HashSet<int> needs, HashSet<int> binds)
    {
        System.Runtime.CompilerServices.RuntimeHelpers.EnsureSufficientExecutionStack();
        switch (t)
        {
            case TVar v: needs.Add(v.Slot); break;
            case TRef r:
                if (r.Head is TVar hv) needs.Add(hv.Slot);
                else if (r.Head is not null) VarsEval(r.Head, needs, binds);
                foreach (var p in r.Path)
                {
                    if (p is TVar pv) binds.Add(pv.Slot);
                    else if (p is TArray or TObject) VarsPattern(p, needs, binds);
                    else VarsEval(p, needs, binds);
                }
                break;
            case TCall c: foreach (var a in c.Args) VarsEval(a, needs, binds); break;
            case TArray a: foreach (var i in a.Items) VarsEval(i, needs, binds); break;
            case TSet s: foreach (var i in s.Items) VarsEval(i, needs, binds); break;
            case TObject o: foreach (var k in o.Keys) VarsEval(k, needs, binds); foreach (var v in o.Values) VarsEval(v, needs, binds); break;
            case TCompr cm: needs.UnionWith(cm.Outer); break;
        }
    }

    /// <summary>Like <see cref="VarsEval"/> but variables in pattern positions (vars, array items, object values) are bound.</summary>
    internal static void VarsPattern(T t, HashSet<int> needs, HashSet<int> binds)
    {
        switch (t)
        {
            case TVar v: binds.Add(v.Slot); break;
            case TArray a: foreach (var i in a.Items) VarsPattern(i, needs, binds); break;
            case TObject o: foreach (var k in o.Keys) VarsEval(k, needs, binds); foreach (var v in o.Values) VarsPattern(v, needs, binds); break;
            default: VarsEval(t, needs, binds); break;
        }
    }

    private sealed class Plan
    {
        public required X X;
        public required HashSet<int>[] Options; // alternative sets of needed vars
        public required HashSet<int> Binds;
    }

    private Plan Analyze(RuleCtx ctx, X x)
    {
        var binds = new HashSet<int>();
        var options = new List<HashSet<int>>();
        switch (x)
        {
            case XTerm t:
                {
                    var n = new HashSet<int>(); VarsEval(t.Term, n, binds); n.ExceptWith(binds); options.Add(n); break;
                }
            case XUnify u:
                {
                    var n1 = new HashSet<int>(); var b1 = new HashSet<int>();
                    VarsEval(u.Left, n1, b1); VarsPattern(u.Right, n1, b1);
                    var n2 = new HashSet<int>(); var b2 = new HashSet<int>();
                    VarsPattern(u.Left, n2, b2); VarsEval(u.Right, n2, b2);
                    n1.ExceptWith(b1); n2.ExceptWith(b2);
                    // `x = y` with both unbound must not look ready: a bare var on the evaluated side is needed.
                    options.Add(n1); options.Add(n2);
                    binds.UnionWith(b1); binds.UnionWith(b2);
                    break;
                }
            case XSomeIn s:
                {
                    var n = new HashSet<int>();
                    VarsEval(s.Collection, n, binds);
                    if (s.Key is not null) VarsPattern(s.Key, n, binds);
                    VarsPattern(s.Value, n, binds);
                    n.ExceptWith(binds);
                    options.Add(n); break;
                }
            case XEvery e:
                {
                    var n = new HashSet<int>();
                    VarsEval(e.Collection, n, binds);
                    foreach (var s in OuterOfEvery(e)) n.Add(s);
                    options.Add(n); binds.Clear(); break;
                }
        }
        var withNeeds = new HashSet<int>();
        foreach (var w in x.With) if (w.Value is not null) VarsEval(w.Value, withNeeds, new HashSet<int>());
        foreach (var o in options) o.UnionWith(withNeeds);
        if (x.Negated)
        {
            // A negation binds nothing; its named variables must be bound outside it.
            var named = new HashSet<int>(binds);
            named.RemoveWhere(ctx.Generated.Contains);
            foreach (var o in options) o.UnionWith(named);
            binds.Clear();
        }
        return new Plan { X = x, Options = options.ToArray(), Binds = binds };
    }

    private static IEnumerable<int> OuterOfEvery(XEvery e) => e.Outer;

    /// <summary>Orders <paramref name="xs"/> so each expression runs once its inputs are bound.</summary>
    private X[] Reorder(RuleCtx ctx, List<X> xs, HashSet<int> initial)
    {
        var bound = new HashSet<int>(initial);
        var plans = xs.Select(x => Analyze(ctx, x)).ToList();
        var result = new List<X>(xs.Count);
        while (plans.Count > 0)
        {
            int pick = -1;
            for (int i = 0; i < plans.Count && pick < 0; i++)
                foreach (var o in plans[i].Options)
                    if (o.IsSubsetOf(bound)) { pick = i; break; }
            if (pick < 0)
            {
                var reported = new HashSet<string>();
                foreach (var p in plans)
                {
                    var best = p.Options.OrderBy(o => o.Count(s => !bound.Contains(s))).First();
                    foreach (var s in best.Where(s => !bound.Contains(s)).OrderBy(s => s))
                    {
                        var name = ctx.Names[s];
                        if (reported.Add(name)) Error("rego_unsafe_var_error", $"var {name} is unsafe", p.X.Loc);
                    }
                }
                break;
            }
            var plan = plans[pick];
            plans.RemoveAt(pick);
            var needs = plan.Options.First(o => o.IsSubsetOf(bound));
            plan.X.Needs = needs.ToArray();
            plan.X.Binds = plan.Binds.Where(b => !bound.Contains(b)).ToArray();
            bound.UnionWith(plan.Binds);
            result.Add(plan.X);
        }
        return result.ToArray();
    }
}
