using Pdp.Rego.Builtins;
using Pdp.Rego.Syntax;
using Pdp.Rego.Values;

namespace Pdp.Rego.Compilation;

/// <summary>Name resolution context of one module: its package, the rule names of that package, its imports.</summary>
internal sealed class ModuleEnv
{
    public ModuleEnv(Module? m, Value[] pkg, HashSet<string> ruleNames, Compiler c)
    {
        Module = m; Package = pkg; RuleNames = ruleNames;
        if (m is null) return;
        foreach (var imp in m.Imports)
        {
            if (imp.Path.Head is not VarTerm { Name: var root } || (root != "data" && root != "input")) continue;
            string? alias = imp.Alias;
            if (alias is null)
            {
                if (imp.Path.Path.Count == 0) { alias = root; }
                else if (imp.Path.Path[^1] is ScalarTerm { Value: StringValue last }) alias = last.Value;
                else continue;
            }
            var path = imp.Path.Path.Select(p => p is ScalarTerm s ? s.Value : StringValue.Empty).ToArray();
            Imports[alias] = (root == "data" ? RootKind.Data : RootKind.Input, path);
        }
    }

    public Module? Module { get; }
    public Value[] Package { get; }
    public HashSet<string> RuleNames { get; }
    public Dictionary<string, (RootKind Root, Value[] Path)> Imports { get; } = new(StringComparer.Ordinal);
}

/// <summary>Per rule (or query) lowering state: slot allocation.</summary>
internal sealed class RuleCtx(ModuleEnv env)
{
    public ModuleEnv Env { get; } = env;
    public int SlotCount { get; private set; }
    public HashSet<int> Generated { get; } = new();
    public List<string> Names { get; } = new();
    public int NewSlot(string name, bool generated = false)
    {
        Names.Add(name);
        if (generated) Generated.Add(SlotCount);
        return SlotCount++;
    }
}

/// <summary>A variable scope: a rule body, a comprehension, or an <c>every</c> body.</summary>
internal sealed class Scope(Scope? parent, HashSet<string> names)
{
    public Scope? Parent { get; } = parent;
    /// <summary>Names used directly in this scope (not in nested closures).</summary>
    public HashSet<string> Names { get; } = names;
    public Dictionary<string, int> Vars { get; } = new(StringComparer.Ordinal);
    public HashSet<string> Declared { get; } = new(StringComparer.Ordinal);
    public HashSet<int> Outer { get; } = new();
    public List<int> Locals { get; } = new();
}

internal sealed partial class Compiler
{
    private static readonly HashSet<string> Keywords = new(StringComparer.Ordinal)
        { "input", "data", "true", "false", "null", "some", "every", "in", "if", "contains", "not", "with", "as", "default", "else", "package", "import" };

    private void Error(string code, string msg, RegoLocation? loc) => _errors.Add(new RegoError(code, msg, loc));

    // ------------------------------------------------------------------ rules

    private void LowerRuleChain(ModuleEnv env, Rule r, CRule c, IReadOnlyList<Term>? args)
    {
        var ctx = new RuleCtx(env);
        var names = CollectNames(r.Body.Exprs, null);
        var head = r.Head;
        foreach (var p in head.Ref.Path) CollectTermNames(p, names);
        if (head.Key is not null) CollectTermNames(head.Key, names);
        if (head.Value is not null) CollectTermNames(head.Value, names);
        var argTerms = head.Args ?? args;
        if (argTerms is not null) foreach (var a in argTerms) CollectTermNames(a, names);
        foreach (var e in r.Body.Exprs)
        {
            if (e is AssignExpr ae) RemoveTermNames(ae.Left, names);
            else if (e is SomeDeclExpr sd) foreach (var v in sd.Vars) names.Remove(v.Name);
        }
        var scope = new Scope(null, names);
        var initial = new HashSet<int>();
        if (argTerms is not null && c.Kind == RuleKind.Function)
        {
            // Function arguments are patterns that declare variables.
            c.Args = argTerms.Select(a => LowerPatternDecl(ctx, scope, a, initial)).ToArray();
        }
        var xs = LowerBody(ctx, scope, r.Body.Exprs);
        c.Body = Reorder(ctx, xs, initial);
        var bound = new HashSet<int>(initial);
        foreach (var x in c.Body) bound.UnionWith(x.Binds);
        // Head: package and static segments as constants, then the dynamic terms.
        var headRef = new List<T>();
        foreach (var p in env.Package) headRef.Add(Const(p, r.Location));
        headRef.Add(Const(new StringValue(head.Name), head.Location));
        foreach (var p in head.Ref.Path) headRef.Add(LowerTerm(ctx, scope, p));
        c.HeadRef = headRef.ToArray();
        if (head.Key is not null) c.Key = LowerTerm(ctx, scope, head.Key);
        c.Value = head.Value is not null ? LowerTerm(ctx, scope, head.Value) : (head.Key is null ? Const(Value.True, head.Location) : null);
        // Head variables must be bound by the body (or the arguments).
        var needs = new HashSet<int>(); var binds = new HashSet<int>();
        foreach (var t in c.HeadRef) VarsEval(t, needs, binds);
        if (c.Key is not null) VarsEval(c.Key, needs, binds);
        if (c.Value is not null) VarsEval(c.Value, needs, binds);
        foreach (var s in needs)
            if (!bound.Contains(s)) Error("rego_unsafe_var_error", $"var {ctx.Names[s]} is unsafe", head.Location);
        c.SlotCount = ctx.SlotCount;
        if (r.Else is not null)
        {
            var e = new CRule
            {
                Kind = c.Kind, HeadRef = [], StaticLen = c.StaticLen, Loc = r.Else.Location, PathString = c.PathString,
                Order = c.Order,
            };
            c.Else = e;
            LowerRuleChain(env, r.Else, e, argTerms);
            // else rules without their own head value default to true; an else's head ref is the chain's.
            e.HeadRef = c.HeadRef;
        }
    }

    // ------------------------------------------------------------------ name collection

    internal static HashSet<string> CollectNames(IReadOnlyList<Expr> exprs, HashSet<string>? into)
    {
        var names = into ?? new HashSet<string>(StringComparer.Ordinal);
        // Names declared with := or some in this scope are explicitly scoped: nested closures using the same name
        // before the declaration have their own variable (as OPA's rewriteLocalVars does).
        var declared = new HashSet<string>(StringComparer.Ordinal);
        foreach (var e in exprs)
        {
            if (e is AssignExpr ae) CollectTermNames(ae.Left, declared);
            else if (e is SomeDeclExpr sd) foreach (var v in sd.Vars) declared.Add(v.Name);
        }
        CollectNamesInto(exprs, names);
        names.ExceptWith(declared);
        return names;
    }

    private static void CollectNamesInto(IReadOnlyList<Expr> exprs, HashSet<string> names)
    {
        foreach (var e in exprs)
        {
            foreach (var w in e.With) CollectTermNames(w.Value, names);
            switch (e)
            {
                case TermExpr t: CollectTermNames(t.Term, names); break;
                case UnifyExpr u: CollectTermNames(u.Left, names); CollectTermNames(u.Right, names); break;
                case AssignExpr a: CollectTermNames(a.Left, names); CollectTermNames(a.Right, names); break;
                case SomeDeclExpr: break;
                case SomeInExpr s: CollectTermNames(s.Collection, names); break;
                case EveryExpr ev: CollectTermNames(ev.Collection, names); break;
            }
        }
    }

    private static void RemoveTermNames(Term t, HashSet<string> names)
    {
        var tmp = new HashSet<string>(StringComparer.Ordinal);
        CollectTermNames(t, tmp);
        names.ExceptWith(tmp);
    }

    private static void CollectTermNames(Term t, HashSet<string> names)
    {
        switch (t)
        {
            case VarTerm v: if (!v.IsWildcard) names.Add(v.Name); break;
            case RefTerm r: CollectTermNames(r.Head, names); foreach (var p in r.Path) CollectTermNames(p, names); break;
            case ArrayTerm a: foreach (var i in a.Items) CollectTermNames(i, names); break;
            case SetTerm s: foreach (var i in s.Items) CollectTermNames(i, names); break;
            case ObjectTerm o: foreach (var (k, v) in o.Items) { CollectTermNames(k, names); CollectTermNames(v, names); } break;
            case CallTerm c: foreach (var a in c.Args) CollectTermNames(a, names); break;
        }
    }

    // ------------------------------------------------------------------ bodies

    private List<X> LowerBody(RuleCtx ctx, Scope scope, IReadOnlyList<Expr> exprs)
    {
        var list = new List<X>(exprs.Count);
        for (int i = 0; i < exprs.Count; i++)
        {
            var e = exprs[i];
            var withs = e.With.Count == 0 ? [] : e.With.Select(w => LowerWith(ctx, scope, w)).ToArray();
            X? x = null;
            switch (e)
            {
                case TermExpr te:
                    x = LowerTermExpr(ctx, scope, te, withs);
                    break;
                case UnifyExpr u:
                    {
                        if (!e.Negated && withs.Length == 0 && u.Left is ArrayTerm la && u.Right is ArrayTerm ra && la.Items.Count == ra.Items.Count && la.Items.Count > 0)
                        {
                            // [a, b] = [c, d] unifies element-wise; splitting lets the safety pass order each pair.
                            for (int j = 0; j < la.Items.Count; j++)
                                list.Add(new XUnify { Left = LowerTerm(ctx, scope, la.Items[j]), Right = LowerTerm(ctx, scope, ra.Items[j]), Loc = e.Location, Text = e.Text, SourceIndex = i });
                            continue;
                        }
                        if (!e.Negated && withs.Length == 0 && u.Left is ObjectTerm lo && u.Right is ObjectTerm ro && SameScalarKeys(lo, ro, out var pairs))
                        {
                            foreach (var (lt, rt) in pairs)
                                list.Add(new XUnify { Left = LowerTerm(ctx, scope, lt), Right = LowerTerm(ctx, scope, rt), Loc = e.Location, Text = e.Text, SourceIndex = i });
                            continue;
                        }
                        x = new XUnify { Left = LowerTerm(ctx, scope, u.Left), Right = LowerTerm(ctx, scope, u.Right), Loc = e.Location, Negated = e.Negated, With = withs, Text = e.Text };
                        break;
                    }
                case AssignExpr a:
                    {
                        var right = LowerTerm(ctx, scope, a.Right);
                        var left = LowerAssignTarget(ctx, scope, a.Left);
                        x = new XUnify { Left = left, Right = right, Loc = e.Location, Negated = e.Negated, With = withs, Text = e.Text };
                        break;
                    }
                case SomeDeclExpr sd:
                    foreach (var v in sd.Vars) Declare(ctx, scope, v.Name, v.Location, some: true);
                    continue;
                case SomeInExpr si:
                    {
                        var coll = LowerTerm(ctx, scope, si.Collection);
                        var key = si.Key is null ? null : LowerPatternDecl(ctx, scope, si.Key, null);
                        var val = LowerPatternDecl(ctx, scope, si.Value, null);
                        x = new XSomeIn { Key = key, Value = val, Collection = coll, Loc = e.Location, Negated = e.Negated, With = withs, Text = e.Text };
                        break;
                    }
                case EveryExpr ev:
                    x = LowerEvery(ctx, scope, ev, withs);
                    break;
            }
            if (x is null) continue;
            x.SourceIndex = i;
            list.Add(x);
        }
        return list;
    }

    private static bool SameScalarKeys(ObjectTerm a, ObjectTerm b, out List<(Term, Term)> pairs)
    {
        pairs = new();
        if (a.Items.Count != b.Items.Count || a.Items.Count == 0) return false;
        foreach (var (k, v) in a.Items)
        {
            if (k is not ScalarTerm ks) return false;
            var match = b.Items.Where(kv => kv.Key is ScalarTerm bs && bs.Value.Equals(ks.Value)).ToList();
            if (match.Count != 1) return false;
            pairs.Add((v, match[0].Value));
        }
        return true;
    }

    private X LowerTermExpr(RuleCtx ctx, Scope scope, TermExpr te, CWith[] withs)
    {
        if (te.Term is CallTerm call)
        {
            var lowered = LowerCall(ctx, scope, call, allowOutput: true, out var output);
            if (output is not null && lowered is TCall)
                return new XUnify { Left = lowered, Right = output, Loc = te.Location, Negated = te.Negated, With = withs, Text = te.Text };
            return new XTerm { Term = lowered, Loc = te.Location, Negated = te.Negated, With = withs, Text = te.Text };
        }
        return new XTerm { Term = LowerTerm(ctx, scope, te.Term), Loc = te.Location, Negated = te.Negated, With = withs, Text = te.Text };
    }

    private X LowerEvery(RuleCtx ctx, Scope scope, EveryExpr ev, CWith[] withs)
    {
        var coll = LowerTerm(ctx, scope, ev.Collection);
        var names = CollectNames(ev.Body.Exprs, null);
        var inner = new Scope(scope, names);
        var key = ev.Key is null ? null : LowerPatternDecl(ctx, inner, ev.Key, null);
        var val = LowerPatternDecl(ctx, inner, ev.Value, null);
        var xs = LowerBody(ctx, inner, ev.Body.Exprs);
        var bound = new HashSet<int>(inner.Outer);
        var kb = new HashSet<int>();
        if (key is not null) VarsPattern(key, new HashSet<int>(), kb);
        VarsPattern(val, new HashSet<int>(), kb);
        bound.UnionWith(kb);
        var body = Reorder(ctx, xs, bound);
        PropagateOuter(scope, inner);
        return new XEvery
        {
            Key = key, Value = val, Collection = coll, Body = body, Locals = inner.Locals.ToArray(), Outer = inner.Outer.ToArray(),
            Loc = ev.Location, Negated = ev.Negated, With = withs, Text = ev.Text,
        };
    }

    private static void PropagateOuter(Scope outer, Scope inner)
    {
        // Captures of the inner scope that are not the outer scope's own vars are captures of the outer scope too.
        foreach (var s in inner.Outer)
            if (!outer.Locals.Contains(s)) outer.Outer.Add(s);
    }

    // ------------------------------------------------------------------ variables

    private int Declare(RuleCtx ctx, Scope scope, string name, RegoLocation loc, bool some)
    {
        if (name == "_") { var w = ctx.NewSlot("_", generated: true); scope.Locals.Add(w); return w; }
        if (name is "input" or "data" || Keywords.Contains(name))
        {
            Error("rego_compile_error", $"variables must not shadow {name} (use a different variable name)", loc);
        }
        if (scope.Declared.Contains(name))
        {
            Error("rego_compile_error", $"var {name} assigned above", loc);
            return scope.Vars[name];
        }
        if (!some && scope.Vars.TryGetValue(name, out var used))
        {
            // Used before its := declaration in the same body (OPA: "var x referenced above").
            Error("rego_compile_error", $"var {name} referenced above", loc);
            return used;
        }
        scope.Declared.Add(name);
        var slot = ctx.NewSlot(name);
        scope.Vars[name] = slot;
        scope.Locals.Add(slot);
        return slot;
    }

    /// <summary>Resolves a variable name: a local, input/data, an import, a rule of the package, or a new local.</summary>
    private T ResolveVar(RuleCtx ctx, Scope scope, string name, RegoLocation loc)
    {
        if (name == "_")
        {
            var w = ctx.NewSlot("_", generated: true);
            scope.Locals.Add(w);
            return new TVar { Slot = w, Name = "_", Generated = true, Loc = loc };
        }
        for (var s = scope; s is not null; s = s.Parent)
        {
            if (s.Vars.TryGetValue(name, out var slot))
            {
                for (var t = scope; t != s; t = t.Parent!) t.Outer.Add(slot);
                return new TVar { Slot = slot, Name = name, Loc = loc };
            }
        }
        if (name == "input") return new TRef { Root = RootKind.Input, Path = [], Loc = loc, NoVars = true };
        if (name == "data") return new TRef { Root = RootKind.Data, Path = [], Loc = loc, NoVars = true };
        if (ctx.Env.Imports.TryGetValue(name, out var imp))
            return new TRef { Root = imp.Root, Path = imp.Path.Select(p => Const(p, loc)).ToArray(), Loc = loc, NoVars = true };
        if (ctx.Env.RuleNames.Contains(name))
        {
            var path = ctx.Env.Package.Append(new StringValue(name)).Select(p => Const(p, loc)).ToArray();
            return new TRef { Root = RootKind.Data, Path = path, Loc = loc, NoVars = true };
        }
        // A new variable, owned by the outermost scope that uses the name directly.
        var owner = scope;
        for (var s = scope.Parent; s is not null; s = s.Parent) if (s.Names.Contains(name)) owner = s;
        var ns = ctx.NewSlot(name);
        owner.Vars[name] = ns;
        owner.Locals.Add(ns);
        for (var t = scope; t != owner; t = t.Parent!) t.Outer.Add(ns);
        return new TVar { Slot = ns, Name = name, Loc = loc };
    }

    /// <summary>Lowers the left side of <c>:=</c>, declaring its variables.</summary>
    private T LowerAssignTarget(RuleCtx ctx, Scope scope, Term t)
    {
        switch (t)
        {
            case VarTerm v:
                if (v.Name is "input" or "data")
                {
                    Error("rego_compile_error", $"cannot assign to {v.Name}", v.Location);
                    return Const(Value.Null, v.Location);
                }
                return new TVar { Slot = Declare(ctx, scope, v.Name, v.Location, some: false), Name = v.Name, Generated = v.IsWildcard, Loc = v.Location };
            case ArrayTerm a:
                return Finish(new TArray { Items = a.Items.Select(i => LowerAssignTarget(ctx, scope, i)).ToArray(), Loc = a.Location });
            case ObjectTerm o:
                return Finish(new TObject
                {
                    Keys = o.Items.Select(kv => LowerTerm(ctx, scope, kv.Key)).ToArray(),
                    Values = o.Items.Select(kv => LowerAssignTarget(ctx, scope, kv.Value)).ToArray(),
                    Loc = o.Location,
                });
            case ScalarTerm s:
                return Const(s.Value, s.Location);
            case RefTerm { Head: VarTerm { Name: "input" or "data" } h }:
                Error("rego_compile_error", $"cannot assign to {h.Name}", t.Location);
                return Const(Value.Null, t.Location);
            default:
                Error("rego_compile_error", "cannot assign to " + t.GetType().Name.Replace("Term", "").ToLowerInvariant(), t.Location);
                return Const(Value.Null, t.Location);
        }
    }

    /// <summary>Lowers a pattern whose variables are declared fresh (function args, <c>some ... in</c>, <c>every</c>).</summary>
    private T LowerPatternDecl(RuleCtx ctx, Scope scope, Term t, HashSet<int>? boundOut)
    {
        switch (t)
        {
            case VarTerm v:
                {
                    var slot = Declare(ctx, scope, v.Name, v.Location, some: true);
                    boundOut?.Add(slot);
                    return new TVar { Slot = slot, Name = v.Name, Generated = v.IsWildcard, Loc = v.Location };
                }
            case ArrayTerm a:
                return Finish(new TArray { Items = a.Items.Select(i => LowerPatternDecl(ctx, scope, i, boundOut)).ToArray(), Loc = a.Location });
            case ObjectTerm o:
                return Finish(new TObject
                {
                    Keys = o.Items.Select(kv => LowerTerm(ctx, scope, kv.Key)).ToArray(),
                    Values = o.Items.Select(kv => LowerPatternDecl(ctx, scope, kv.Value, boundOut)).ToArray(),
                    Loc = o.Location,
                });
            default:
                return LowerTerm(ctx, scope, t);
        }
    }

    // ------------------------------------------------------------------ terms

    private static TConst Const(Value v, RegoLocation loc) => new() { Value = v, Loc = loc, NoVars = true };

    private T LowerTerm(RuleCtx ctx, Scope scope, Term t)
    {
        // Deep nesting (the parser allows up to its limit) must not overflow the stack.
        System.Runtime.CompilerServices.RuntimeHelpers.EnsureSufficientExecutionStack();
        switch (t)
        {
            case ScalarTerm s: return Const(s.Value, s.Location);
            case VarTerm v: return ResolveVar(ctx, scope, v.Name, v.Location);
            case RefTerm r: return LowerRef(ctx, scope, r);
            case ArrayTerm a:
                return Finish(new TArray { Items = a.Items.Select(i => LowerTerm(ctx, scope, i)).ToArray(), Loc = a.Location });
            case SetTerm s:
                return Finish(new TSet { Items = s.Items.Select(i => LowerTerm(ctx, scope, i)).ToArray(), Loc = s.Location });
            case ObjectTerm o:
                return Finish(new TObject
                {
                    Keys = o.Items.Select(kv => LowerTerm(ctx, scope, kv.Key)).ToArray(),
                    Values = o.Items.Select(kv => LowerTerm(ctx, scope, kv.Value)).ToArray(),
                    Loc = o.Location,
                });
            case CallTerm c: return LowerCall(ctx, scope, c, allowOutput: false, out _);
            case ArrayComprehensionTerm ac: return LowerCompr(ctx, scope, ComprehensionKind.Array, ac.Head, null, ac.Body, ac.Location);
            case SetComprehensionTerm sc: return LowerCompr(ctx, scope, ComprehensionKind.Set, sc.Head, null, sc.Body, sc.Location);
            case ObjectComprehensionTerm oc: return LowerCompr(ctx, scope, ComprehensionKind.Object, oc.Key, oc.Value, oc.Body, oc.Location);
            default:
                Error("rego_compile_error", "unsupported term", t.Location);
                return Const(Value.Null, t.Location);
        }
    }

    private T LowerRef(RuleCtx ctx, Scope scope, RefTerm r)
    {
        var path = new T[r.Path.Count];
        T head;
        if (r.Head is VarTerm hv)
        {
            head = ResolveVar(ctx, scope, hv.Name, hv.Location);
        }
        else head = LowerTerm(ctx, scope, r.Head);
        for (int i = 0; i < path.Length; i++) path[i] = LowerTerm(ctx, scope, r.Path[i]);
        if (head is TRef { Root: not null } root)
            return Finish(new TRef { Root = root.Root, Path = [.. root.Path, .. path], Loc = r.Location });
        return Finish(new TRef { Head = head, Path = path, Loc = r.Location });
    }

    private T LowerCompr(RuleCtx ctx, Scope scope, ComprehensionKind kind, Term head, Term? value, Body body, RegoLocation loc)
    {
        var names = CollectNames(body.Exprs, null);
        CollectTermNames(head, names);
        if (value is not null) CollectTermNames(value, names);
        var inner = new Scope(scope, names);
        var xs = LowerBody(ctx, inner, body.Exprs);
        var h = LowerTerm(ctx, inner, head);
        var v = value is null ? null : LowerTerm(ctx, inner, value);
        var ordered = Reorder(ctx, xs, new HashSet<int>(inner.Outer));
        var bound = new HashSet<int>(inner.Outer);
        foreach (var x in ordered) bound.UnionWith(x.Binds);
        var needs = new HashSet<int>(); var binds = new HashSet<int>();
        VarsEval(h, needs, binds);
        if (v is not null) VarsEval(v, needs, binds);
        foreach (var s in needs)
            if (!bound.Contains(s) && !inner.Outer.Contains(s)) Error("rego_unsafe_var_error", $"var {ctx.Names[s]} is unsafe", loc);
        PropagateOuter(scope, inner);
        return new TCompr
        {
            Kind = kind, Head = h, Value = v, Body = ordered, Outer = inner.Outer.ToArray(), Locals = inner.Locals.ToArray(), Loc = loc,
        };
    }

    private static readonly Dictionary<string, (Intrinsic I, int Arity)> Intrinsics = new(StringComparer.Ordinal)
    {
        ["print"] = (Intrinsic.Print, -1),
        ["walk"] = (Intrinsic.Walk, 1),
        ["opa.runtime"] = (Intrinsic.OpaRuntime, 0),
    };

    private static readonly Dictionary<string, (Intrinsic I, int Arity)> Fallbacks = new(StringComparer.Ordinal)
    {
        ["equal"] = (Intrinsic.Equal, 2), ["neq"] = (Intrinsic.NotEqual, 2),
        ["lt"] = (Intrinsic.Lt, 2), ["lte"] = (Intrinsic.Lte, 2), ["gt"] = (Intrinsic.Gt, 2), ["gte"] = (Intrinsic.Gte, 2),
        ["internal.member_2"] = (Intrinsic.Member2, 2), ["internal.member_3"] = (Intrinsic.Member3, 3),
    };

    /// <summary>
    /// OPA built-ins this engine does not implement (network, I/O, signature verification). Policies using them
    /// compile (so tests can mock them with <c>with</c>); a real call is a built-in error.
    /// </summary>
    private static readonly Dictionary<string, int> Unsupported = new(StringComparer.Ordinal)
    {
        ["http.send"] = 1, ["io.jwt.decode_verify"] = 2, ["io.jwt.verify_rs256"] = 2, ["io.jwt.verify_rs384"] = 2,
        ["io.jwt.verify_rs512"] = 2, ["io.jwt.verify_ps256"] = 2, ["io.jwt.verify_ps384"] = 2, ["io.jwt.verify_ps512"] = 2,
        ["io.jwt.verify_es256"] = 2, ["io.jwt.verify_es384"] = 2, ["io.jwt.verify_es512"] = 2, ["io.jwt.verify_hs256"] = 2,
        ["io.jwt.verify_hs384"] = 2, ["io.jwt.verify_hs512"] = 2, ["io.jwt.encode_sign"] = 3, ["io.jwt.encode_sign_raw"] = 3,
        ["net.lookup_ip_addr"] = 1, ["rego.parse_module"] = 2, ["rego.metadata.chain"] = 0,
        ["rego.metadata.rule"] = 0, ["providers.aws.sign_req"] = 3, ["crypto.x509.parse_and_verify_certificates"] = 1,
    };

    /// <summary>True when <paramref name="name"/> is a built-in or an evaluator intrinsic.</summary>
    internal static bool IsBuiltinName(string name) => Intrinsics.ContainsKey(name) || Fallbacks.ContainsKey(name) || BuiltinRegistry.TryGet(name, out _) || Unsupported.ContainsKey(name);

    /// <summary>Resolves a call's operator to a user function path, or null for a built-in name.</summary>
    private Value[]? ResolveFunctionPath(RuleCtx ctx, Scope scope, RefTerm op)
    {
        if (op.Head is not VarTerm hv) return null;
        var rest = new List<Value>();
        foreach (var p in op.Path)
        {
            if (p is ScalarTerm { Value: StringValue s }) rest.Add(s);
            else return null;
        }
        for (var s = scope; s is not null; s = s.Parent) if (s.Vars.ContainsKey(hv.Name)) return null;
        if (hv.Name == "data") return rest.ToArray();
        if (ctx.Env.Imports.TryGetValue(hv.Name, out var imp) && imp.Root == RootKind.Data) return [.. imp.Path, .. rest];
        if (ctx.Env.RuleNames.Contains(hv.Name)) return [.. ctx.Env.Package, new StringValue(hv.Name), .. rest];
        return null;
    }

    private T LowerCall(RuleCtx ctx, Scope scope, CallTerm c, bool allowOutput, out T? output)
    {
        output = null;
        var name = c.Name;
        var fpath = ResolveFunctionPath(ctx, scope, c.Operator);
        int arity;
        BuiltinDefinition? bdef = null;
        Intrinsic intr = Intrinsic.None;
        if (fpath is not null)
        {
            var node = Root.Find(fpath);
            if (node is null || node.Kind != RuleKind.Function)
            {
                Error("rego_type_error", $"undefined function {PathString(fpath)}", c.Location);
                return Const(Value.Null, c.Location);
            }
            arity = node.Arity;
            name = PathString(fpath);
        }
        else if (Intrinsics.TryGetValue(name, out var ii)) { intr = ii.I; arity = ii.Arity; }
        else if (BuiltinRegistry.TryGet(name, out var def)) { bdef = def; arity = def.Arity; }
        else if (Fallbacks.TryGetValue(name, out var fb)) { intr = fb.I; arity = fb.Arity; }
        else if (Unsupported.TryGetValue(name, out var ua)) { intr = Intrinsic.Unsupported; arity = ua; }
        else
        {
            Error("rego_type_error", $"undefined function {name}", c.Location);
            return Const(Value.Null, c.Location);
        }
        var args = c.Args;
        if (arity >= 0)
        {
            if (args.Count == arity + 1 && allowOutput)
            {
                output = LowerTerm(ctx, scope, args[^1]);
                args = args.Take(arity).ToArray();
            }
            else if (args.Count != arity)
            {
                var msg = args.Count > arity ? "too many arguments" : "too few arguments";
                Error("rego_type_error", $"{name}: arity mismatch: {msg} (want {arity}, got {args.Count})", c.Location);
                return Const(Value.Null, c.Location);
            }
        }
        var lowered = args.Select(a => LowerTerm(ctx, scope, a)).ToArray();
        if (bdef?.OperandTypes is { } types) CheckLiteralTypes(name, types, lowered, c.Location);
        return Finish(new TCall { Name = name, Builtin = bdef, FunctionPath = fpath, Intrinsic = intr, Args = lowered, Loc = c.Location });
    }

    private void CheckLiteralTypes(string name, BuiltinType[] types, T[] args, RegoLocation loc)
    {
        for (int i = 0; i < args.Length && i < types.Length; i++)
        {
            if (args[i] is not TConst k) continue;
            var have = k.Value.Kind switch
            {
                ValueKind.Null => BuiltinType.Null, ValueKind.Boolean => BuiltinType.Boolean, ValueKind.Number => BuiltinType.Number,
                ValueKind.String => BuiltinType.String, ValueKind.Array => BuiltinType.Array, ValueKind.Object => BuiltinType.Object,
                _ => BuiltinType.Set,
            };
            if ((types[i] & have) == 0)
                Error("rego_type_error", $"{name}: invalid argument(s): operand {i + 1} must be {TypeNames(types[i])} but got {k.Value.TypeName}", loc);
        }
    }

    private static string TypeNames(BuiltinType t)
    {
        var names = new List<string>();
        foreach (var (f, n) in new[] { (BuiltinType.Array, "array"), (BuiltinType.Boolean, "boolean"), (BuiltinType.Null, "null"), (BuiltinType.Number, "number"), (BuiltinType.Object, "object"), (BuiltinType.Set, "set"), (BuiltinType.String, "string") })
            if ((t & f) != 0) names.Add(n);
        return t == BuiltinType.Any ? "any" : names.Count == 1 ? names[0] : "one of {" + string.Join(", ", names) + "}";
    }

    private CWith LowerWith(RuleCtx ctx, Scope scope, WithModifier w)
    {
        var loc = w.Location;
        // Target.
        string? name = null;
        RootKind? root = null;
        var path = new List<Value>();
        if (w.Target is VarTerm tv) name = tv.Name;
        else if (w.Target is RefTerm { Head: VarTerm th } tr)
        {
            name = th.Name;
            foreach (var p in tr.Path)
            {
                if (p is ScalarTerm s) path.Add(s.Value);
                else { Error("rego_compile_error", "with keyword target must be a ground reference", loc); break; }
            }
        }
        else Error("rego_compile_error", "with keyword target must be a reference", loc);
        if (name == "input") root = RootKind.Input;
        else if (name == "data") root = RootKind.Data;
        else if (name is not null && ctx.Env.Imports.TryGetValue(name, out var imp)) { root = imp.Root; path.InsertRange(0, imp.Path); }
        // Replacement: a function/built-in name, or a value.
        Value[]? fvPath = null; BuiltinDefinition? fvB = null; Intrinsic fvI = Intrinsic.None; T? value = null;
        RefTerm? valueRef = w.Value switch { VarTerm vv => new RefTerm { Head = vv, Path = [], Location = vv.Location }, RefTerm rr => rr, _ => null };
        if (valueRef is not null)
        {
            var fp = ResolveFunctionPath(ctx, scope, valueRef);
            if (fp is not null && Root.Find(fp) is { Kind: RuleKind.Function }) fvPath = fp;
            else if (valueRef.Head is VarTerm vh && !IsLocal(scope, vh.Name) && !ctx.Env.RuleNames.Contains(vh.Name) && vh.Name is not ("input" or "data") && !ctx.Env.Imports.ContainsKey(vh.Name))
            {
                var bn = CallTerm.RefName(valueRef);
                if (Intrinsics.TryGetValue(bn, out var ii)) fvI = ii.I;
                else if (BuiltinRegistry.TryGet(bn, out var bd)) fvB = bd;
                else if (Fallbacks.TryGetValue(bn, out var fb)) fvI = fb.I;
                else if (Unsupported.ContainsKey(bn)) fvI = Intrinsic.Unsupported;
            }
        }
        if (fvPath is null && fvB is null && fvI == Intrinsic.None) value = LowerTerm(ctx, scope, w.Value);
        if (root == RootKind.Input) return new CWith { Kind = WithKind.Input, Path = path.ToArray(), Value = value, FunctionValuePath = fvPath, BuiltinValue = fvB, IntrinsicValue = fvI, Loc = loc };
        if (root == RootKind.Data)
        {
            var node = Root.Find(path.ToArray());
            if (node is { Kind: RuleKind.Function })
                return new CWith { Kind = WithKind.Function, Path = path.ToArray(), Name = PathString(path), Value = value, FunctionValuePath = fvPath, BuiltinValue = fvB, IntrinsicValue = fvI, Loc = loc };
            return new CWith { Kind = WithKind.Data, Path = path.ToArray(), Value = value, FunctionValuePath = fvPath, BuiltinValue = fvB, IntrinsicValue = fvI, Loc = loc };
        }
        if (name is not null)
        {
            var targetRef = w.Target as RefTerm ?? new RefTerm { Head = new VarTerm { Name = name, Location = loc }, Path = [], Location = loc };
            var fp = ResolveFunctionPath(ctx, scope, targetRef);
            if (fp is not null && Root.Find(fp) is { Kind: RuleKind.Function })
                return new CWith { Kind = WithKind.Function, Path = fp, Name = PathString(fp), Value = value, FunctionValuePath = fvPath, BuiltinValue = fvB, IntrinsicValue = fvI, Loc = loc };
            if (fp is not null)
                return new CWith { Kind = WithKind.Data, Path = fp, Value = value, FunctionValuePath = fvPath, BuiltinValue = fvB, IntrinsicValue = fvI, Loc = loc };
            var bname = CallTerm.RefName(targetRef);
            if (IsBuiltinName(bname))
                return new CWith { Kind = WithKind.Builtin, Name = bname, Value = value, FunctionValuePath = fvPath, BuiltinValue = fvB, IntrinsicValue = fvI, Loc = loc };
            Error("rego_compile_error", $"with keyword target {bname} must reference existing data, input, a function or a built-in", loc);
        }
        return new CWith { Kind = WithKind.Input, Value = value ?? Const(Value.Null, loc), Loc = loc };
    }

    private static bool IsLocal(Scope scope, string name)
    {
        for (var s = scope; s is not null; s = s.Parent) if (s.Vars.ContainsKey(name)) return true;
        return false;
    }

    /// <summary>Sets NoVars and folds ground composites into constants.</summary>
    private static T Finish(T t)
    {
        switch (t)
        {
            case TArray a:
                {
                    bool allConst = true, noVars = true;
                    foreach (var i in a.Items) { allConst &= i is TConst; noVars &= i.NoVars; }
                    if (allConst) return Const(new ArrayValue(a.Items.Select(i => ((TConst)i).Value).ToArray()), a.Loc);
                    a.NoVars = noVars; return a;
                }
            case TSet s:
                {
                    bool allConst = true, noVars = true;
                    foreach (var i in s.Items) { allConst &= i is TConst; noVars &= i.NoVars; }
                    if (allConst) return Const(SetValue.Of(s.Items.Select(i => ((TConst)i).Value)), s.Loc);
                    s.NoVars = noVars; return s;
                }
            case TObject o:
                {
                    bool allConst = true, noVars = true;
                    for (int i = 0; i < o.Keys.Length; i++) { allConst &= o.Keys[i] is TConst && o.Values[i] is TConst; noVars &= o.Keys[i].NoVars && o.Values[i].NoVars; }
                    if (allConst)
                    {
                        var b = new ObjectValue.Builder(o.Keys.Length);
                        for (int i = 0; i < o.Keys.Length; i++) b.Set(((TConst)o.Keys[i]).Value, ((TConst)o.Values[i]).Value);
                        return Const(b.Build(), o.Loc);
                    }
                    o.NoVars = noVars; return o;
                }
            case TRef r:
                {
                    bool noVars = r.Head is null || r.Head.NoVars;
                    foreach (var p in r.Path) noVars &= p.NoVars;
                    r.NoVars = noVars; return r;
                }
            case TCall c:
                {
                    bool noVars = true;
                    foreach (var p in c.Args) noVars &= p.NoVars;
                    c.NoVars = noVars; return c;
                }
        }
        return t;
    }
}
