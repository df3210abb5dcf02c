using Pdp.Rego.Builtins;
using Pdp.Rego.Syntax;
using Pdp.Rego.Values;

namespace Pdp.Rego.Compilation;

/// <summary>The immutable result of compilation, shared by every evaluation.</summary>
internal sealed class CompiledState
{
    public required RuleNode Root { get; init; }
    public required Value Data { get; init; }
    public required IReadOnlyList<RuleInfo> Rules { get; init; }
    public required int NodeCount { get; init; }
    /// <summary>Number of nodes with rules (dense <see cref="RuleNode.RuleId"/>s).</summary>
    public required int RuleNodeCount { get; init; }

    // Values of shareable rules (RuleNode.Shareable), by RuleId: null = not computed yet, else a Value or the
    // evaluator's "undefined" marker. Filled lazily by evaluations outside any `with`; written once per slot
    // with Volatile.Write after the value is complete, so readers on other threads see a finished value. One
    // array per StrictBuiltinErrors setting, since that option decides whether a built-in error is undefined.
    private object?[]? _shared, _sharedStrict;

    /// <summary>The shared rule-value cache for evaluations with the given strictness.</summary>
    public object?[] SharedRuleCache(bool strict)
    {
        ref var slot = ref strict ? ref _sharedStrict : ref _shared;
        var a = Volatile.Read(ref slot);
        if (a is not null) return a;
        Interlocked.CompareExchange(ref slot, new object?[RuleNodeCount], null);
        return slot!;
    }
}

/// <summary>A compiled query: its ordered body, frame size and the user variables to report.</summary>
internal sealed class CompiledQuery
{
    public required X[] Body { get; init; }
    public required int SlotCount { get; init; }
    public required (string Name, int Slot)[] Vars { get; init; }
    /// <summary>Per source expression: its result slot, text and location.</summary>
    public required (int Slot, string Text, RegoLocation Loc)[] Exprs { get; init; }
}

/// <summary>
/// Compiles parsed modules into the rule tree (stages like OPA's ast/compile.go): mount rules by path, check
/// conflicts, resolve names and scope variables while lowering to <see cref="X"/>/<see cref="T"/>, reorder bodies
/// for safety, check recursion, build rule indexes. Collects every error it can before throwing.
/// </summary>
internal sealed partial class Compiler
{
    private readonly List<RegoError> _errors = new();
    private readonly RuleNode _root = new(StringValue.Empty, []);
    private readonly Dictionary<string, HashSet<string>> _ruleNamesByPackage = new();
    private int _order;

    /// <summary>Compiles <paramref name="modules"/> (already parsed) with base <paramref name="data"/>.</summary>
    public static CompiledState Compile(IReadOnlyList<Module> modules, Value data)
    {
        var c = new Compiler();
        return c.Run(modules, data);
    }

    private CompiledState Run(IReadOnlyList<Module> modules, Value data)
    {
        // Stage 1: mount every rule (shell only) so that name resolution knows every rule path.
        var pending = new List<(Module M, Value[] Pkg, Rule R, CRule C)>();
        foreach (var m in modules)
        {
            var pkg = PackagePath(m);
            var key = PathKey(pkg);
            if (!_ruleNamesByPackage.TryGetValue(key, out var names)) _ruleNamesByPackage[key] = names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var r in m.Rules) names.Add(r.Head.Name);
        }
        var infos = new List<RuleInfo>();
        var seenInfo = new HashSet<string>(StringComparer.Ordinal);
        foreach (var m in modules)
        {
            var pkg = PackagePath(m);
            // A package exists (as an empty object) even without rules.
            var pn = _root;
            foreach (var seg in pkg) pn = pn.GetOrAdd(seg);
            foreach (var r in m.Rules)
            {
                var c = Mount(pkg, r);
                if (c is null) continue;
                pending.Add((m, pkg, r, c));
                if (seenInfo.Add(c.PathString)) infos.Add(new RuleInfo(c.PathString, r.Location));
            }
        }
        if (_errors.Count > 0) throw new RegoException(_errors);
        // Stage 2: lower bodies with scoping, name resolution and safety reordering.
        foreach (var (m, pkg, r, c) in pending)
        {
            var env = new ModuleEnv(m, pkg, _ruleNamesByPackage[PathKey(pkg)], this);
            LowerRuleChain(env, r, c, r.Head.Args);
        }
        if (_errors.Count > 0) throw new RegoException(_errors);
        // Stage 3: recursion, indexes, ids.
        CheckRecursion();
        if (_errors.Count > 0) throw new RegoException(_errors);
        int id = 0, ruleIds = 0;
        var stack = new Stack<RuleNode>();
        stack.Push(_root);
        while (stack.Count > 0)
        {
            var n = stack.Pop();
            n.Id = id++;
            if (n.HasRules) n.RuleId = ruleIds++;
            n.RulesArray = n.Rules.ToArray();
            n.ConstAll = n.Rules.Count > 1 && n.Rules[0].Value is TConst c0
                && n.Rules.TrueForAll(r => r.Else is null && r.Value is TConst c && c.Value.Equals(c0.Value));
            if (n.Rules.Count > 0 && n.Kind is RuleKind.Complete or RuleKind.MultiValue or RuleKind.Dynamic) n.Index = RuleIndex.Build(n.Rules);
            foreach (var ch in n.Children.Values) stack.Push(ch);
        }
        Purity.Analyze(_root);
        return new CompiledState { Root = _root, Data = data, Rules = infos, NodeCount = id, RuleNodeCount = ruleIds };
    }

    /// <summary>Compiles a query against a compiled rule tree.</summary>
    public static CompiledQuery CompileQuery(Body body, RuleNode root)
    {
        var c = new Compiler();
        // Reuse the compiled tree for resolution of data.* function calls.
        c._rootOverride = root;
        var env = new ModuleEnv(null, [], new HashSet<string>(), c);
        var ctx = new RuleCtx(env);
        var scope = new Scope(null, CollectNames(body.Exprs, null));
        var xs = c.LowerBody(ctx, scope, body.Exprs);
        var exprs = new List<(int, string, RegoLocation)>();
        int lastSource = -1, lastSlot = -1;
        for (int i = 0; i < xs.Count; i++)
        {
            // One result per source expression (an array unification split into pairs shares its slot).
            if (xs[i].SourceIndex != lastSource)
            {
                lastSlot = ctx.NewSlot("$expr", generated: true);
                lastSource = xs[i].SourceIndex;
                exprs.Add((lastSlot, xs[i].Text, xs[i].Loc));
            }
            SetResultSlot(xs[i], lastSlot);
        }
        var ordered = c.Reorder(ctx, xs, new HashSet<int>());
        if (c._errors.Count > 0) throw new RegoException(c._errors);
        var vars = new List<(string, int)>();
        foreach (var (name, slot) in scope.Vars)
            if (!ctx.Generated.Contains(slot)) vars.Add((name, slot));
        return new CompiledQuery { Body = ordered, SlotCount = ctx.SlotCount, Vars = vars.ToArray(), Exprs = exprs.ToArray() };
    }

    private static void SetResultSlot(X x, int slot)
    {
        switch (x)
        {
            case XTerm t: t.ResultSlot = slot; break;
            case XUnify u: u.ResultSlot = slot; break;
            case XSomeIn s: s.ResultSlot = slot; break;
            case XEvery e: e.ResultSlot = slot; break;
        }
    }

    private RuleNode? _rootOverride;
    private RuleNode Root => _rootOverride ?? _root;

    // ------------------------------------------------------------------ stage 1: mounting

    private static Value[] PackagePath(Module m)
    {
        var p = new Value[m.Package.Path.Count];
        for (int i = 0; i < p.Length; i++) p[i] = m.Package.Path[i] is ScalarTerm s ? s.Value : new StringValue("?");
        return p;
    }

    internal static string PathKey(Value[] path) => string.Join("\u0001", path.Select(p => p.ToString()));

    internal static string PathString(IEnumerable<Value> path)
        => "data" + string.Concat(path.Select(p => p is StringValue s ? "." + s.Value : "[" + p + "]"));

    private CRule? Mount(Value[] pkg, Rule r)
    {
        var head = r.Head;
        // Static prefix: package, rule name, then leading string constants of the head ref.
        var stat = new List<Value>(pkg) { new StringValue(head.Name) };
        int i = 0;
        for (; i < head.Ref.Path.Count; i++)
        {
            if (head.Ref.Path[i] is ScalarTerm { Value: StringValue s }) stat.Add(s);
            else break;
        }
        bool dynamic = i < head.Ref.Path.Count;
        RuleKind kind = head.Args is not null ? RuleKind.Function
            : dynamic ? RuleKind.Dynamic
            : head.IsMultiValue ? RuleKind.MultiValue
            : RuleKind.Complete;
        var node = _root;
        foreach (var seg in stat) node = node.GetOrAdd(seg);
        var pathString = PathString(stat);
        if (node.Kind is { } k && k != kind)
        {
            _errors.Add(new RegoError("rego_type_error", $"conflicting rules {pathString} found", r.Location));
            return null;
        }
        if (kind == RuleKind.Function)
        {
            if (node.Arity >= 0 && node.Arity != head.Args!.Count)
            {
                _errors.Add(new RegoError("rego_type_error", $"conflicting rules {pathString} found", r.Location));
                return null;
            }
            node.Arity = head.Args!.Count;
        }
        node.Kind = kind;
        var c = new CRule
        {
            Kind = kind,
            HeadRef = [],
            StaticLen = stat.Count,
            IsDefault = r.IsDefault,
            Loc = r.Location,
            PathString = pathString,
            Order = _order++,
        };
        if (r.IsDefault)
        {
            if (node.Default is not null)
                _errors.Add(new RegoError("rego_type_error", $"multiple default rules {pathString} found", r.Location));
            node.Default = c;
        }
        else node.Rules.Add(c);
        // A complete value at a path that also has rules below it conflicts (OPA: rule conflicts).
        if (kind is RuleKind.Complete or RuleKind.MultiValue or RuleKind.Function && node.Children.Values.Any(HasRulesBelow))
            _errors.Add(new RegoError("rego_type_error", $"rule {pathString} conflicts with rules below it", r.Location));
        for (var (n, depth) = (_root, 0); depth < stat.Count - 1; depth++)
        {
            n = n.Children[stat[depth]];
            if (n.Kind is RuleKind.Complete or RuleKind.MultiValue or RuleKind.Function)
            {
                _errors.Add(new RegoError("rego_type_error", $"rule {n.PathString} conflicts with {pathString}", r.Location));
                break;
            }
        }
        return c;
    }

    private static bool HasRulesBelow(RuleNode n)
    {
        if (n.HasRules) return true;
        foreach (var c in n.Children.Values) if (HasRulesBelow(c)) return true;
        return false;
    }

    // ------------------------------------------------------------------ stage 3: recursion

    private void CheckRecursion()
    {
        var deps = new Dictionary<RuleNode, HashSet<RuleNode>>();
        var all = new List<RuleNode>();
        var st = new Stack<RuleNode>();
        st.Push(_root);
        while (st.Count > 0)
        {
            var n = st.Pop();
            if (n.HasRules) all.Add(n);
            foreach (var c in n.Children.Values) st.Push(c);
        }
        all.Sort((a, b) => FirstOrder(a).CompareTo(FirstOrder(b)));
        foreach (var n in all)
        {
            var set = new HashSet<RuleNode>();
            foreach (var r in RulesOf(n)) CollectDeps(r, set);
            deps[n] = set;
        }
        // Iterative DFS with colors; report each cycle once.
        var color = new Dictionary<RuleNode, int>();
        var reported = new HashSet<RuleNode>();
        foreach (var start in all)
        {
            if (color.GetValueOrDefault(start) != 0) continue;
            var path = new List<RuleNode>();
            var iters = new Stack<IEnumerator<RuleNode>>();
            color[start] = 1; path.Add(start); iters.Push(deps[start].GetEnumerator());
            while (iters.Count > 0)
            {
                var it = iters.Peek();
                if (!it.MoveNext())
                {
                    iters.Pop(); color[path[^1]] = 2; path.RemoveAt(path.Count - 1);
                    continue;
                }
                var next = it.Current;
                var cl = color.GetValueOrDefault(next);
                if (cl == 1)
                {
                    var idx = path.IndexOf(next);
                    var cycle = path.Skip(idx).Append(next).Select(p => p.PathString);
                    if (reported.Add(next))
                    {
                        var loc = RulesOf(next).FirstOrDefault()?.Loc;
                        _errors.Add(new RegoError("rego_recursion_error", $"rule {next.PathString} is recursive: {string.Join(" -> ", cycle)}", loc));
                    }
                }
                else if (cl == 0 && deps.TryGetValue(next, out var nd))
                {
                    color[next] = 1; path.Add(next); iters.Push(nd.GetEnumerator());
                }
            }
        }
    }

    private static int FirstOrder(RuleNode n) => RulesOf(n).Select(r => r.Order).DefaultIfEmpty(int.MaxValue).Min();

    private static IEnumerable<CRule> RulesOf(RuleNode n)
    {
        if (n.Default is not null) yield return n.Default;
        foreach (var r in n.Rules)
            for (var e = r; e is not null; e = e.Else) yield return e;
    }

    private void CollectDeps(CRule r, HashSet<RuleNode> set)
    {
        foreach (var t in r.HeadRef) DepsT(t, set);
        if (r.Key is not null) DepsT(r.Key, set);
        if (r.Value is not null) DepsT(r.Value, set);
        if (r.Args is not null) foreach (var a in r.Args) DepsT(a, set);
        DepsX(r.Body, set);
    }

    private void DepsX(X[] body, HashSet<RuleNode> set)
    {
        foreach (var x in body)
        {
            foreach (var w in x.With)
            {
                if (w.Value is not null) DepsT(w.Value, set);
                if (w.FunctionValuePath is not null) AddPathDeps(w.FunctionValuePath, true, set);
            }
            switch (x)
            {
                case XTerm t: DepsT(t.Term, set); break;
                case XUnify u: DepsT(u.Left, set); DepsT(u.Right, set); break;
                case XSomeIn s: if (s.Key is not null) DepsT(s.Key, set); DepsT(s.Value, set); DepsT(s.Collection, set); break;
                case XEvery e: if (e.Key is not null) DepsT(e.Key, set); DepsT(e.Value, set); DepsT(e.Collection, set); DepsX(e.Body, set); break;
            }
        }
    }

    private void DepsT(T t, HashSet<RuleNode> set)
    {
        switch (t)
        {
            case TRef r:
                if (r.Head is not null) DepsT(r.Head, set);
                foreach (var p in r.Path) DepsT(p, set);
                if (r.Root == RootKind.Data)
                {
                    // Non-constant segments match any key (data[x].allow reaches every package's allow).
                    var pattern = r.Path.Select(p => p is TConst c ? c.Value : null).ToArray();
                    AddPatternDeps(_root, pattern, 0, set);
                }
                break;
            case TCall c:
                foreach (var a in c.Args) DepsT(a, set);
                if (c.FunctionPath is not null) AddPathDeps(c.FunctionPath, true, set);
                break;
            case TArray a: foreach (var i in a.Items) DepsT(i, set); break;
            case TSet s: foreach (var i in s.Items) DepsT(i, set); break;
            case TObject o: foreach (var i in o.Keys) DepsT(i, set); foreach (var i in o.Values) DepsT(i, set); break;
            case TCompr cm: DepsT(cm.Head, set); if (cm.Value is not null) DepsT(cm.Value, set); DepsX(cm.Body, set); break;
        }
    }

    private void AddPatternDeps(RuleNode n, Value?[] pattern, int i, HashSet<RuleNode> set)
    {
        if (i == pattern.Length)
        {
            var st = new Stack<RuleNode>();
            st.Push(n);
            while (st.Count > 0)
            {
                var x = st.Pop();
                if (x.HasRules) set.Add(x);
                foreach (var c in x.Children.Values) st.Push(c);
            }
            return;
        }
        if (pattern[i] is { } key)
        {
            if (!n.Children.TryGetValue(key, out var next)) return;
            if (next.HasRules) set.Add(next);
            AddPatternDeps(next, pattern, i + 1, set);
            return;
        }
        foreach (var next in n.Children.Values)
        {
            if (next.HasRules) set.Add(next);
            AddPatternDeps(next, pattern, i + 1, set);
        }
    }

    private void AddPathDeps(Value[] prefix, bool full, HashSet<RuleNode> set)
    {
        var n = _root;
        foreach (var k in prefix)
        {
            if (!n.Children.TryGetValue(k, out var next)) return;
            n = next;
            if (n.HasRules) set.Add(n);
        }
        // A ref that stops at (or iterates below) this node reads everything beneath it.
        var st = new Stack<RuleNode>();
        st.Push(n);
        while (st.Count > 0)
        {
            var x = st.Pop();
            if (x.HasRules) set.Add(x);
            foreach (var c in x.Children.Values) st.Push(c);
        }
        _ = full;
    }
}
