using System.Text;
using Pdp.Rego.Builtins;
using Pdp.Rego.Compilation;
using Pdp.Rego.Values;

namespace Pdp.Rego.Evaluation;

// Calls of built-ins, user functions and intrinsics (print, walk); comprehensions.
internal sealed partial class Evaluator
{
    private bool EvalCall(Value?[] f, TCall c, Func<Value, bool> k)
    {
        if (c.Intrinsic == Intrinsic.Print && (_overrides is null || !_overrides.ContainsKey(c.Name))) return EvalPrint(f, c, k);
        return EvalCallGeneral(f, c, k);
    }

    private bool EvalCallGeneral(Value?[] f, TCall c, Func<Value, bool> k)
    {
        if (HasVarArgAfterBinder(c.Args))
            return EvalListVarsLast(f, c.Args, args => Invoke(c, c.Name, c.Builtin, c.FunctionPath, c.Intrinsic, args, k, 0));
        return EvalList(f, c.Args, 0, new Value[c.Args.Length], args => Invoke(c, c.Name, c.Builtin, c.FunctionPath, c.Intrinsic, args, k, 0));
    }

    /// <summary>True when a plain variable argument may be bound by another argument (e.g. <c>x == a[x]</c>).</summary>
    private static bool HasVarArgAfterBinder(T[] args)
    {
        bool anyVar = false, anyComplex = false;
        foreach (var a in args) { if (a is TVar) anyVar = true; else if (!a.NoVars) anyComplex = true; }
        return anyVar && anyComplex;
    }

    /// <summary>Evaluates arguments with plain variables last, so refs that bind them run first.</summary>
    private bool EvalListVarsLast(Value?[] f, T[] items, Func<Value[], bool> k)
    {
        var order = new int[items.Length];
        int n = 0;
        for (int i = 0; i < items.Length; i++) if (items[i] is not TVar) order[n++] = i;
        for (int i = 0; i < items.Length; i++) if (items[i] is TVar) order[n++] = i;
        var acc = new Value[items.Length];
        return EvalOrdered(f, items, order, 0, acc, k);
    }

    private bool EvalOrdered(Value?[] f, T[] items, int[] order, int j, Value[] acc, Func<Value[], bool> k)
    {
        if (j == order.Length) return k(acc);
        var i = order[j];
        return EvalTerm(f, items[i], v => { acc[i] = v; return EvalOrdered(f, items, order, j + 1, acc, k); });
    }

    private bool Invoke(TCall c, string name, BuiltinDefinition? bdef, Value[]? fpath, Intrinsic intr, Value[] args, Func<Value, bool> k, int depth)
    {
        if (_overrides is not null && depth < 8 && _overrides.TryGetValue(name, out var rep))
        {
            if (rep.Value is not null) return k(rep.Value);
            if (rep.FunctionPath is not null)
            {
                // The mock runs without its own replacement, so it can call the original (OPA does the same).
                var mockNode = _st.Root.Find(rep.FunctionPath);
                if (mockNode is null) return true;
                var saved = (_overrides, _ruleCache, _nodeCache);
                // Nor any other mock: "mock will not call other mock".
                _overrides = null;
                _ruleCache = new object?[_st.RuleNodeCount];
                _nodeCache = null;
                Value? mv;
                try { mv = CallFunction(mockNode, args, c); }
                finally { (_overrides, _ruleCache, _nodeCache) = saved; }
                return mv is null ? true : k(mv);
            }
            if (rep.Builtin is not null) return Invoke(c, rep.Builtin.Name, rep.Builtin, null, Intrinsic.None, args, k, depth + 1);
            if (rep.Intrinsic != Intrinsic.None) return Invoke(c, name + "$", null, null, rep.Intrinsic, args, k, depth + 1);
        }
        if (intr == Intrinsic.Walk) return Walk(args[0], k);
        var v = CallValue(c, name, bdef, fpath, intr, args);
        return v is null ? true : k(v);
    }

    private static readonly Func<bool> StopK = () => false;

    private Value? CallFunction(RuleNode node, Value[] args, TCall c)
    {
        EnsureStack(c.Loc);
        Value? result = null;
        foreach (var rule in node.RulesArray)
        {
            for (var r = rule; r is not null; r = r.Else)
            {
                if (Stats is not null) Stats.Count(r);
                bool any;
                if (r.Value is TConst cv && r.Args!.Length <= 8)
                {
                    // A constant result: one solution of the body is enough, and no closure is needed. The frame
                    // is reused: nothing refers to it once the body has been searched.
                    var fr = RentFrame(r.SlotCount);
                    try
                    {
                        bool direct = BindArgsDirect(fr, r.Args!, args, out var argsOk);
                        if (direct && !argsOk) continue;
                        if (direct)
                        {
                            any = !EvalBody(fr, r.Body, 0, StopK);
                            if (any) RecordFunctionValue(ref result, r, cv.Value);
                            if (any && node.ConstAll) return result; // the other definitions cannot change it
                        }
                        else any = CallDefinitionGeneral(fr, r, args, false, ref result);
                    }
                    finally { ReturnFrame(fr); }
                }
                else if (r.Args!.Length <= 8 && BindArgsDirectCheck(r.Args!))
                {
                    // Plain parameters and a computed value: pooled frame and collector, no closures.
                    var s = RentSol(SolMode.Function, r, r.Value!);
                    try
                    {
                        BindArgsDirect(s.F, r.Args!, args, out var argsOk);
                        if (!argsOk) continue;
                        s.Result = result;
                        EvalBody(s.F, r.Body, 0, s.OnBody);
                        result = s.Result;
                        any = s.Any;
                    }
                    finally { ReturnSol(s); }
                }
                else
                {
                    var fr = new Value?[r.SlotCount];
                    bool direct = BindArgsDirect(fr, r.Args!, args, out var argsOk);
                    if (direct && !argsOk) continue;
                    any = CallDefinitionGeneral(fr, r, args, direct, ref result);
                }
                if (any) break;
            }
        }
        if (result is null && node.Default is { } d)
        {
            var fr = new Value?[d.SlotCount];
            TrySimpleOrFirst(fr, d.Value!, out result);
        }
        return result;
    }

    // Frames of constant-result function definitions, reused within one evaluation (by size).
    private Value?[] RentFrame(int size)
    {
        if (size < EvalScratch.MaxPooledFrame && _scratch.Frames[size] is { Count: > 0 } st) return st.Pop();
        return new Value?[size];
    }

    private void ReturnFrame(Value?[] fr)
    {
        if (fr.Length >= EvalScratch.MaxPooledFrame) return;
        Array.Clear(fr);
        var st = _scratch.Frames[fr.Length] ??= new Stack<Value?[]>(4);
        if (st.Count < 16) st.Push(fr);
    }

    private void TrySimpleOrFirst(Value?[] f, T t, out Value? result)
    {
        if (TrySimple(f, t, out result)) return;
        Value? r = null;
        EvalTerm(f, t, v => { r = v; return false; });
        result = r;
    }

    private static void RecordFunctionValue(ref Value? result, CRule r, Value v)
    {
        if (result is null) result = v;
        else if (!result.Equals(v))
            throw new RegoException("eval_conflict_error", $"functions must not produce multiple outputs for same inputs: function {r.PathString} produced conflicting values for the same inputs", r.Loc);
    }

    /// <summary>One function definition through the general path (pattern arguments or a computed value).</summary>
    private bool CallDefinitionGeneral(Value?[] fr, CRule r, Value[] args, bool direct, ref Value? result)
    {
        bool any = false;
        Value? res = result;
        Func<bool> body = r.Value is TConst cv
            ? () => { if (!EvalBody(fr, r.Body, 0, StopK)) { any = true; RecordFunctionValue(ref res, r, cv.Value); return false; } return true; }
            : () => EvalBody(fr, r.Body, 0, () => EvalTerm(fr, r.Value!, v =>
            {
                any = true;
                RecordFunctionValue(ref res, r, v);
                return true;
            }));
        if (direct) body(); else UnifyArgs(fr, r.Args!, args, 0, body);
        result = res;
        return any;
    }

    private static bool BindArgsDirectCheck(T[] pats)
    {
        foreach (var p in pats) if (p is not (TVar or TConst)) return false;
        return true;
    }

    /// <summary>Binds arguments to parameters that are plain variables or constants (no closures needed).</summary>
    private static bool BindArgsDirect(Value?[] fr, T[] pats, Value[] args, out bool ok)
    {
        ok = true;
        foreach (var p in pats) if (p is not (TVar or TConst)) return false;
        for (int i = 0; i < pats.Length; i++)
        {
            if (pats[i] is TConst c) { if (!c.Value.Equals(args[i])) { ok = false; break; } continue; }
            var slot = ((TVar)pats[i]).Slot;
            if (fr[slot] is { } prev) { if (!prev.Equals(args[i])) { ok = false; break; } }
            else Store(fr, slot, args[i]);
        }
        return true;
    }

    private bool UnifyArgs(Value?[] f, T[] pats, Value[] args, int i, Func<bool> k)
    {
        if (i == pats.Length) return k();
        return UnifyValue(f, pats[i], args[i], () => UnifyArgs(f, pats, args, i + 1, k));
    }

    private static Value? IntrinsicValue(Intrinsic intr, ReadOnlySpan<Value> a)
    {
        switch (intr)
        {
            case Intrinsic.Equal: return Value.Bool(a[0].Equals(a[1]));
            case Intrinsic.NotEqual: return Value.Bool(!a[0].Equals(a[1]));
            case Intrinsic.Lt: return Value.Bool(a[0].CompareTo(a[1]) < 0);
            case Intrinsic.Lte: return Value.Bool(a[0].CompareTo(a[1]) <= 0);
            case Intrinsic.Gt: return Value.Bool(a[0].CompareTo(a[1]) > 0);
            case Intrinsic.Gte: return Value.Bool(a[0].CompareTo(a[1]) >= 0);
            case Intrinsic.Member2: return Value.Bool(Member(a[0], a[1]));
            case Intrinsic.Member3: return Value.Bool(a[2] switch
            {
                ArrayValue arr => a[0] is NumberValue n && Lookup(arr, n) is { } v && v.Equals(a[1]),
                ObjectValue o => o.TryGetValue(a[0], out var ov) && ov.Equals(a[1]),
                _ => false,
            });
            case Intrinsic.Print: return Value.True;
            case Intrinsic.OpaRuntime: return ObjectValue.Empty; // no runtime configuration to report
        }
        return null;
    }

    private static bool Member(Value x, Value coll)
    {
        switch (coll)
        {
            case ArrayValue a: foreach (var i in a.Items) if (i.Equals(x)) return true; return false;
            case SetValue s: return s.Contains(x);
            case ObjectValue o: foreach (var e in o.Entries) if (e.Value.Equals(x)) return true; return false;
        }
        return false;
    }

    /// <summary><c>walk(x, [path, value])</c>: every node of <paramref name="root"/>, pre-order, with its path.</summary>
    private bool Walk(Value root, Func<Value, bool> k)
    {
        // Explicit stack: deep documents must not overflow the call stack.
        var stack = new Stack<(Value[] Path, Value V)>();
        stack.Push(([], root));
        while (stack.Count > 0)
        {
            var (path, v) = stack.Pop();
            if (!k(new ArrayValue([new ArrayValue(path), v]))) return false;
            var children = new List<(Value, Value)>();
            switch (v)
            {
                case ArrayValue a: for (int i = 0; i < a.Count; i++) children.Add((NumberValue.FromInt64(i), a[i])); break;
                case ObjectValue o: foreach (var e in o.Entries) children.Add((e.Key, e.Value)); break;
                case SetValue s: foreach (var e in s.Items) children.Add((e, e)); break;
            }
            for (int i = children.Count - 1; i >= 0; i--) stack.Push(([.. path, children[i].Item1], children[i].Item2));
        }
        return true;
    }

    // ------------------------------------------------------------------ print

    private bool EvalPrint(Value?[] f, TCall c, Func<Value, bool> k)
    {
        var parts = new List<Value>[c.Args.Length];
        for (int i = 0; i < c.Args.Length; i++)
        {
            var l = new List<Value>();
            EvalTerm(f, c.Args[i], v => { l.Add(v); return true; });
            parts[i] = l;
        }
        if (_opt.Print is { } sink)
        {
            var sb = new StringBuilder();
            for (int i = 0; i < parts.Length; i++)
            {
                if (i > 0) sb.Append(' ');
                var l = parts[i];
                if (l.Count == 0) sb.Append("<undefined>");
                else if (l.Count == 1) AppendPrint(sb, l[0]);
                else AppendPrint(sb, SetValue.Of(l));
            }
            sink(sb.ToString());
        }
        return k(Value.True);
    }

    private static void AppendPrint(StringBuilder sb, Value v)
    {
        if (v is StringValue s) sb.Append(s.Value);
        else v.AppendRego(sb);
    }

    // ------------------------------------------------------------------ comprehensions

    private bool EvalCompr(Value?[] f, TCompr c, Func<Value, bool> k) => k(ComprValue(f, c));

    /// <summary>The value of a comprehension, its body run on the enclosing frame <paramref name="f"/>.</summary>
    private Value ComprValue(Value?[] f, TCompr c)
    {
        if (c.Kind == ComprehensionKind.Object) return ObjectComprValue(f, c);
        // A pooled collector on the enclosing frame: no closures per comprehension.
        var l = RentList();
        var sol = RentSolOn(f, c.Head, l);
        try
        {
            EvalBody(f, c.Body, 0, sol.OnBody);
            if (c.Kind == ComprehensionKind.Set) return SetValue.Of(l);
            return l.Count == 0 ? ArrayValue.Empty : new ArrayValue(l.ToArray());
        }
        finally { ReturnSolOn(sol); ReturnList(l); }
    }

    private ObjectValue ObjectComprValue(Value?[] f, TCompr c)
    {
        var d = new Dictionary<Value, Value>();
        EvalBody(f, c.Body, 0, () => EvalTerm(f, c.Head, key => EvalTerm(f, c.Value!, val =>
        {
            if (d.TryGetValue(key, out var ex))
            {
                if (!ex.Equals(val)) throw new RegoException("eval_conflict_error", "object keys must be unique", c.Loc);
                return true;
            }
            d[key] = val;
            return true;
        })));
        var b = new ObjectValue.Builder(d.Count);
        foreach (var (key, val) in d) b.Set(key, val);
        return b.Build();
    }
}
