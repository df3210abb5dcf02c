using System.Runtime.CompilerServices;
using Pdp.Rego.Values;

namespace Pdp.Rego.Compilation;

/// <summary>
/// Finds the rules whose value is the same for every evaluation of a compiled policy: no ref to <c>input</c>,
/// no nondeterministic built-in (<c>time.now_ns</c>, <c>rand.intn</c>, <c>uuid.rfc4122</c>, ...), no
/// <c>print</c>, no <c>with</c>, and only such rules (or base data) reached through data refs and function calls,
/// transitively. Their values can be computed once per policy and shared by evaluations (like OPA folding
/// data-only rules). Conservative: anything it cannot prove (recursion in progress, very deep terms, refs into a
/// subtree with a variable key) counts as input-dependent.
/// </summary>
internal sealed class Purity
{
    private readonly RuleNode _root;
    // 1 = being analysed, 2 = shareable, 3 = not shareable (per node: its own rules only; per subtree below).
    private readonly Dictionary<RuleNode, byte> _node = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<RuleNode, byte> _subtree = new(ReferenceEqualityComparer.Instance);

    private Purity(RuleNode root) => _root = root;

    /// <summary>Sets <see cref="RuleNode.Shareable"/> on every node with rules under <paramref name="root"/>.</summary>
    public static void Analyze(RuleNode root)
    {
        var p = new Purity(root);
        var stack = new Stack<RuleNode>();
        stack.Push(root);
        while (stack.Count > 0)
        {
            var n = stack.Pop();
            if (n.HasRules) n.Shareable = p.NodePure(n);
            foreach (var c in n.Children.Values) stack.Push(c);
        }
    }

    private bool NodePure(RuleNode n)
    {
        if (_node.TryGetValue(n, out var s)) return s == 2;
        _node[n] = 1;
        bool pure = true;
        foreach (var r in n.Rules) if (!RulePure(r)) { pure = false; break; }
        if (pure && n.Default is { } d) pure = RulePure(d);
        _node[n] = pure ? (byte)2 : (byte)3;
        return pure;
    }

    /// <summary>The whole document at <paramref name="n"/> (its rules and every rule below it).</summary>
    private bool SubtreePure(RuleNode n)
    {
        if (_subtree.TryGetValue(n, out var s)) return s == 2;
        _subtree[n] = 1;
        bool pure = !n.HasRules || NodePure(n);
        if (pure) foreach (var c in n.Children.Values) if (!SubtreePure(c)) { pure = false; break; }
        _subtree[n] = pure ? (byte)2 : (byte)3;
        return pure;
    }

    private bool RulePure(CRule rule)
    {
        for (var r = rule; r is not null; r = r.Else)
        {
            foreach (var h in r.HeadRef) if (!TermPure(h)) return false;
            if (r.Key is not null && !TermPure(r.Key)) return false;
            if (r.Value is not null && !TermPure(r.Value)) return false;
            if (r.Args is not null) foreach (var a in r.Args) if (!TermPure(a)) return false;
            if (!BodyPure(r.Body)) return false;
        }
        return true;
    }

    private bool BodyPure(X[] body)
    {
        foreach (var x in body) if (!ExprPure(x)) return false;
        return true;
    }

    private bool ExprPure(X x)
    {
        if (x.With.Length > 0) return false;
        return x switch
        {
            XTerm t => TermPure(t.Term),
            XUnify u => TermPure(u.Left) && TermPure(u.Right),
            XSomeIn s => (s.Key is null || TermPure(s.Key)) && TermPure(s.Value) && TermPure(s.Collection),
            XEvery e => (e.Key is null || TermPure(e.Key)) && TermPure(e.Value) && TermPure(e.Collection) && BodyPure(e.Body),
            _ => false,
        };
    }

    private bool TermPure(T t)
    {
        if (!RuntimeHelpers.TryEnsureSufficientExecutionStack()) return false;
        switch (t)
        {
            case TConst or TVar: return true;
            case TArray a: return AllPure(a.Items);
            case TSet s: return AllPure(s.Items);
            case TObject o: return AllPure(o.Keys) && AllPure(o.Values);
            case TCompr c: return TermPure(c.Head) && (c.Value is null || TermPure(c.Value)) && BodyPure(c.Body);
            case TCall c:
                if (!AllPure(c.Args)) return false;
                if (c.FunctionPath is not null)
                {
                    var fn = _root.Find(c.FunctionPath);
                    return fn is null || NodePure(fn);
                }
                if (c.Builtin is not null) return !c.Builtin.Nondeterministic;
                // Intrinsics: print has a side effect, opa.runtime reports the process; operators are pure.
                return c.Intrinsic is not (Intrinsic.None or Intrinsic.Print or Intrinsic.OpaRuntime);
            case TRef r:
                if (r.Head is not null && !TermPure(r.Head)) return false;
                if (!AllPure(r.Path)) return false;
                if (r.Root == RootKind.Input) return false;
                if (r.Root == RootKind.Data) return DataRefPure(r.Path);
                return true;
        }
        return false;
    }

    private bool AllPure(T[] ts)
    {
        foreach (var t in ts) if (!TermPure(t)) return false;
        return true;
    }

    /// <summary>A data ref reads the rules of the node it reaches (and all below it); off the rule tree only base data.</summary>
    private bool DataRefPure(T[] path)
    {
        var n = _root;
        foreach (var p in path)
        {
            if (n.HasRules) return SubtreePure(n);
            // A variable (or a number that may name a string key) can reach any child: the whole subtree counts.
            if (p is not TConst { Value: StringValue } c) return SubtreePure(n);
            if (!n.Children.TryGetValue(c.Value, out var next)) return true;
            n = next;
        }
        return SubtreePure(n);
    }
}
