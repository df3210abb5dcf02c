using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using Pdp.Rego.Builtins;
using Pdp.Rego.Compilation;
using Pdp.Rego.Values;

namespace Pdp.Rego.Evaluation;

/// <summary>Counters of one evaluation (used by tests and benchmarks).</summary>
internal sealed class EvalStats
{
    /// <summary>Rule bodies entered (one per rule definition tried).</summary>
    public long RuleEvaluations;
    /// <summary>When set, rule bodies entered per rule path (for profiling a policy).</summary>
    public Dictionary<string, long>? PerRule;

    public void Count(CRule r)
    {
        RuleEvaluations++;
        if (PerRule is not null) PerRule[r.PathString] = PerRule.GetValueOrDefault(r.PathString) + 1;
    }
}

/// <summary>
/// Top-down evaluation with unification and backtracking, in continuation-passing style: each step calls its
/// continuation once per solution; a continuation returns false to stop the search (e.g. a negation that found a
/// solution). Variables live in slot arrays (one per rule body invocation); a binding is undone when its
/// continuation returns. One instance per evaluation; never shared between threads.
/// </summary>
internal sealed partial class Evaluator
{
    private static readonly object Undefined = new();

    // Set per evaluation by Init: the instance is reused by the evaluations of one thread (see Start).
    private CompiledState _st = null!;
    private EvalOptions _opt = null!;
    private CancellationToken _ct;
    private readonly BuiltinContext _bctx;
    private long _deadline;
    private long _maxSteps;
    private long _steps;

    private Value? _input;
    private Value _data = null!;
    private List<Value[]>? _masks;
    private Dictionary<string, Replacement>? _overrides;
    private object?[] _ruleCache = null!;
    // The evaluation's own rule cache: `with` (and function mocks) swap in another array while in effect.
    private object?[] _rootRuleCache = null!;
    private readonly EvalScratch _scratch;
    private object?[]? _nodeCache;
    public EvalStats? Stats;

    private sealed class Replacement
    {
        public Value? Value;
        public Value[]? FunctionPath;
        public BuiltinDefinition? Builtin;
        public Intrinsic Intrinsic;
    }

    private Evaluator(EvalScratch scratch)
    {
        _scratch = scratch;
        _bctx = new BuiltinContext(EvalOptions.Default, default, default);
    }

    /// <summary>
    /// Starts one evaluation on the calling thread's pooled evaluator and working memory (new ones when those are in
    /// use, e.g. an evaluation started from inside another). Call <see cref="Release"/> once when done.
    /// </summary>
    public static Evaluator Start(CompiledState st, Value? input, EvalOptions? options, CancellationToken ct, EvalStats? stats = null)
    {
        var scratch = EvalScratch.Take(st.RuleNodeCount);
        var ev = scratch.Evaluator ??= new Evaluator(scratch);
        ev.Init(st, input, options, ct, stats);
        return ev;
    }

    private void Init(CompiledState st, Value? input, EvalOptions? options, CancellationToken ct, EvalStats? stats)
    {
        _st = st;
        _input = input;
        _data = st.Data;
        _opt = options ?? EvalOptions.Default;
        _ct = ct;
        _bctx.Reset(_opt, _opt.Now ?? DateTimeOffset.UtcNow, ct);
        _deadline = _opt.Timeout is { } t ? Stopwatch.GetTimestamp() + (long)(t.TotalSeconds * Stopwatch.Frequency) : long.MaxValue;
        _maxSteps = _opt.MaxSteps ?? long.MaxValue;
        _steps = 0;
        _masks = null;
        _overrides = null;
        _ruleCache = _rootRuleCache = _scratch.RuleCache;
        _nodeCache = null;
        _chainProduced = false;
        Stats = stats;
    }

    /// <summary>Ends the evaluation: the evaluator and its pooled working memory go back to the thread, holding no
    /// values of this evaluation (call once, when done; the instance must not be used afterwards).</summary>
    public void Release()
    {
        _input = null;
        _data = null!;
        _st = null!;
        _masks = null;
        _overrides = null;
        _nodeCache = null;
        Stats = null;
        _bctx.Reset(EvalOptions.Default, default, default);
        _scratch.Release();
    }

    // ------------------------------------------------------------------ entry points

    /// <summary>All solutions of a compiled query.</summary>
    public List<QueryResultRow> RunQuery(CompiledQuery q)
    {
        var rows = new List<QueryResultRow>();
        var f = new Value?[q.SlotCount];
        EvalBody(f, q.Body, 0, () =>
        {
            var b = new Dictionary<string, Value>(q.Vars.Length, StringComparer.Ordinal);
            foreach (var (name, slot) in q.Vars) if (f[slot] is { } v) b[name] = v;
            var ex = new ExpressionValue[q.Exprs.Length];
            for (int i = 0; i < ex.Length; i++) ex[i] = new ExpressionValue(f[q.Exprs[i].Slot] ?? Value.True, q.Exprs[i].Text, q.Exprs[i].Loc);
            rows.Add(new QueryResultRow(ex, b));
            return true;
        });
        return rows;
    }

    /// <summary>The value of a ground ref (e.g. <c>data.pkg.decision</c>), or null when undefined.</summary>
    public Value? EvalRef(TRef r)
    {
        if (TrySimple([], r, out var simple)) return simple;
        return FirstValue(r);
    }

    private Value? FirstValue(TRef r)
    {
        Value? result = null;
        EvalTerm([], r, v => { result = v; return false; });
        return result;
    }

    // ------------------------------------------------------------------ budget and errors

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Step()
    {
        // Inlined counter; the budget, cancellation and clock checks are out of line.
        if (++_steps > _maxSteps || (_steps & 255) == 0) StepSlow();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void StepSlow()
    {
        if (_steps > _maxSteps) throw new RegoException("eval_cancel_error", "caller cancelled query execution: step budget exceeded");
        if ((_steps & 255) == 0)
        {
            if (_ct.IsCancellationRequested) throw new RegoException("eval_cancel_error", "caller cancelled query execution");
            if (_deadline != long.MaxValue && Stopwatch.GetTimestamp() > _deadline) throw new RegoException("eval_cancel_error", "caller cancelled query execution: timeout");
        }
    }

    private static void EnsureStack(RegoLocation loc)
    {
        if (!RuntimeHelpers.TryEnsureSufficientExecutionStack())
            throw new RegoException("eval_internal_error", "evaluation nested too deeply (stack limit reached)", loc);
    }

    // ------------------------------------------------------------------ bodies and expressions


    private bool EvalExpr(Value?[] f, X x, Func<bool> k)
    {
        Step();
        EnsureStack(x.Loc);
        if (x.With.Length > 0) return EvalWith(f, x, k);
        return EvalMaybeNegated(f, x, k);
    }

    private bool EvalMaybeNegated(Value?[] f, X x, Func<bool> k)
    {
        if (!x.Negated) return EvalExprInner(f, x, k);
        // A solution stops the search (StopK), which is the only way the search returns false.
        if (!EvalExprInner(f, x, StopK)) return true;
        return k();
    }

    private bool EvalExprInner(Value?[] f, X x, Func<bool> k)
    {
        switch (x)
        {
            case XTerm t:
                return EvalXTerm(f, t, k);
            case XUnify u:
                if (u.ResultSlot >= 0) f[u.ResultSlot] = Value.True;
                return Unify(f, u.Left, u.Right, k);
            case XSomeIn s:
                if (s.ResultSlot >= 0) f[s.ResultSlot] = Value.True;
                if (TrySimple(f, s.Collection, out var sc)) return sc is null ? true : IterateSomeIn(f, s, sc, k);
                return EvalSomeInGeneral(f, s, k);
            case XEvery e:
                if (e.ResultSlot >= 0) f[e.ResultSlot] = Value.True;
                return EvalEveryGeneral(f, e, k);
        }
        return true;
    }

    // Lambdas live in small helpers: C# allocates the closure of captured parameters on entry to a method, so
    // hot methods must not contain any.
    private bool EvalXTerm(Value?[] f, XTerm t, Func<bool> k)
    {
        if (TrySimple(f, t.Term, out var sv))
        {
            if (sv is null || sv is BooleanValue { Value: false }) return true;
            if (t.ResultSlot >= 0) Store(f, t.ResultSlot, sv);
            return k();
        }
        return EvalTerm(f, t.Term, v =>
        {
            if (v is BooleanValue { Value: false }) return true;
            if (t.ResultSlot >= 0) Store(f, t.ResultSlot, v);
            return k();
        });
    }

    private bool EvalSomeInGeneral(Value?[] f, XSomeIn s, Func<bool> k) => EvalTerm(f, s.Collection, coll => IterateSomeIn(f, s, coll, k));

    private bool EvalEveryGeneral(Value?[] f, XEvery e, Func<bool> k) => EvalTerm(f, e.Collection, coll => EvalEvery(f, e, coll) ? k() : true);

    private bool IterateSomeIn(Value?[] f, XSomeIn s, Value coll, Func<bool> k)
    {
        switch (coll)
        {
            case ArrayValue a:
                for (int i = 0; i < a.Count; i++)
                {
                    var item = a[i];
                    bool go = s.Key is null ? UnifyValue(f, s.Value, item, k) : UnifyPair(f, s.Key, s.Value, NumberValue.FromInt64(i), item, k);
                    if (!go) return false;
                }
                return true;
            case ObjectValue o:
                foreach (var e in o.Entries)
                {
                    var (key, val) = (e.Key, e.Value);
                    bool go = s.Key is null ? UnifyValue(f, s.Value, val, k) : UnifyPair(f, s.Key, s.Value, key, val, k);
                    if (!go) return false;
                }
                return true;
            case SetValue st:
                foreach (var item in st.Span)
                {
                    bool go = s.Key is null ? UnifyValue(f, s.Value, item, k) : UnifyPair(f, s.Key, s.Value, item, item, k);
                    if (!go) return false;
                }
                return true;
        }
        return true;
    }

    /// <summary>Unifies a key and a value pattern (in a helper, so loops calling it allocate no closure per item).</summary>
    private bool UnifyPair(Value?[] f, T keyPat, T valPat, Value key, Value val, Func<bool> k)
    {
        if (keyPat is TVar kv && f[kv.Slot] is null)
        {
            Store(f, kv.Slot, key);
            try { return UnifyValue(f, valPat, val, k); }
            finally { f[kv.Slot] = null; }
        }
        return UnifyPairGeneral(f, keyPat, valPat, key, val, k);
    }

    private bool UnifyPairGeneral(Value?[] f, T keyPat, T valPat, Value key, Value val, Func<bool> k)
        => UnifyValue(f, keyPat, key, () => UnifyValue(f, valPat, val, k));

    /// <summary>Binds a path key then continues down the path (helper: no per-item closure for a plain variable).</summary>
    private bool PathStep(Value?[] f, T pt, Value key, Value child, T[] path, int next, Func<Value, bool> k)
    {
        if (pt is TVar tv && f[tv.Slot] is null)
        {
            Store(f, tv.Slot, key);
            try { return EvalPath(f, child, path, next, k); }
            finally { f[tv.Slot] = null; }
        }
        return PathStepGeneral(f, pt, key, child, path, next, k);
    }

    private bool PathStepGeneral(Value?[] f, T pt, Value key, Value child, T[] path, int next, Func<Value, bool> k)
        => UnifyValue(f, pt, key, () => EvalPath(f, child, path, next, k));

    private bool EvalEvery(Value?[] f, XEvery e, Value coll)
    {
        switch (coll)
        {
            case ArrayValue a:
                for (int i = 0; i < a.Count; i++)
                    if (!EveryItem(f, e, e.Key is null ? null : NumberValue.FromInt64(i), a[i])) return false;
                return true;
            case ObjectValue o:
                foreach (var kv in o.Entries)
                    if (!EveryItem(f, e, kv.Key, kv.Value)) return false;
                return true;
            case SetValue s:
                foreach (var v in s.Span)
                    if (!EveryItem(f, e, v, v)) return false;
                return true;
        }
        return false; // a domain that is not a collection: every is undefined
    }

    /// <summary>True when the body of <c>every</c> has a solution for one (key, value) of its domain.</summary>
    private bool EveryItem(Value?[] f, XEvery e, Value? key, Value val)
    {
        // Plain unbound variables (the usual case): bind in place, no closures.
        if (e.Value is TVar vv && f[vv.Slot] is null && (e.Key is null || (e.Key is TVar kv0 && kv0.Slot != vv.Slot && f[kv0.Slot] is null)))
        {
            var ks = e.Key is TVar kv ? kv.Slot : -1;
            Store(f, vv.Slot, val);
            if (ks >= 0) Store(f, ks, key);
            try { return !EvalBody(f, e.Body, 0, StopK); }
            finally { f[vv.Slot] = null; if (ks >= 0) f[ks] = null; }
        }
        return EveryItemGeneral(f, e, key, val);
    }

    // Closures capture the parameters, which C# allocates on entry: kept out of EveryItem's plain-variable path.
    private bool EveryItemGeneral(Value?[] f, XEvery e, Value? key, Value val)
    {
        bool found = false;
        Func<bool> body = () => EvalBody(f, e.Body, 0, () => { found = true; return false; });
        if (e.Key is null) UnifyValue(f, e.Value, val, body);
        else UnifyValue(f, e.Key, key!, () => UnifyValue(f, e.Value, val, body));
        return found;
    }

    // ------------------------------------------------------------------ with

    private bool EvalWith(Value?[] f, X x, Func<bool> k)
    {
        // Evaluate the replacement values in the current state.
        var values = new Value?[x.With.Length];
        for (int i = 0; i < x.With.Length; i++)
        {
            var w = x.With[i];
            if (w.Value is null) continue;
            Value? v = null;
            EvalTerm(f, w.Value, r => { v = r; return false; });
            if (v is null) return true;
            values[i] = v;
        }
        var saved = (_input, _data, _masks, _overrides, _ruleCache, _nodeCache);
        for (int i = 0; i < x.With.Length; i++)
        {
            var w = x.With[i];
            switch (w.Kind)
            {
                case WithKind.Input:
                    _input = w.Path.Length == 0 ? values[i] : Upsert(_input, w.Path, 0, values[i]!);
                    break;
                case WithKind.Data:
                    if (values[i] is null)
                    {
                        // A function used as a data value: treat as a function replacement of that path.
                        _overrides = new Dictionary<string, Replacement>(_overrides ?? new());
                        _overrides[Compiler.PathString(w.Path)] = new Replacement { FunctionPath = w.FunctionValuePath, Builtin = w.BuiltinValue, Intrinsic = w.IntrinsicValue };
                        break;
                    }
                    _data = Upsert(_data, w.Path, 0, values[i]!);
                    _masks = new List<Value[]>(_masks ?? new()) { w.Path };
                    break;
                case WithKind.Function:
                case WithKind.Builtin:
                    _overrides = new Dictionary<string, Replacement>(_overrides ?? new());
                    _overrides[w.Kind == WithKind.Builtin ? w.Name! : Compiler.PathString(w.Path)] = new Replacement
                    {
                        Value = values[i], FunctionPath = w.FunctionValuePath, Builtin = w.BuiltinValue, Intrinsic = w.IntrinsicValue,
                    };
                    break;
            }
        }
        _ruleCache = new object?[_st.RuleNodeCount];
        _nodeCache = null;
        var applied = (_input, _data, _masks, _overrides, _ruleCache, _nodeCache);
        try
        {
            return EvalMaybeNegated(f, x, () =>
            {
                (_input, _data, _masks, _overrides, _ruleCache, _nodeCache) = saved;
                try { return k(); }
                finally { (_input, _data, _masks, _overrides, _ruleCache, _nodeCache) = applied; }
            });
        }
        finally
        {
            (_input, _data, _masks, _overrides, _ruleCache, _nodeCache) = saved;
        }
    }

    private static Value Upsert(Value? root, Value[] path, int i, Value v)
    {
        if (i == path.Length) return v;
        var obj = root as ObjectValue ?? ObjectValue.Empty;
        var child = obj[path[i]];
        return obj.With(path[i], Upsert(child, path, i + 1, v));
    }

    // ------------------------------------------------------------------ unification

    private static bool Bind(Value?[] f, int slot, Value v, Func<bool> k)
    {
        Store(f, slot, v);
        try { return k(); }
        finally { f[slot] = null; }
    }

    private static bool HasUnboundPatternVars(Value?[] f, T t)
    {
        switch (t)
        {
            case TVar v: return f[v.Slot] is null;
            case TArray a:
                foreach (var i in a.Items) if (HasUnboundPatternVars(f, i)) return true;
                return false;
            case TObject o:
                foreach (var i in o.Values) if (HasUnboundPatternVars(f, i)) return true;
                return false;
        }
        return false;
    }

    private bool Unify(Value?[] f, T a, T b, Func<bool> k)
    {
        if (a is TArray aa && b is TArray ba)
        {
            if (aa.Items.Length != ba.Items.Length) return true;
            return UnifyPairs(f, aa.Items, ba.Items, 0, k);
        }
        if (HasUnboundPatternVars(f, a)) return UnifyEvalThen(f, b, a, k);
        return UnifyEvalThen(f, a, b, k);
    }

    /// <summary>Evaluates <paramref name="src"/> and unifies each value with the pattern <paramref name="pat"/>.</summary>
    private bool UnifyEvalThen(Value?[] f, T src, T pat, Func<bool> k)
    {
        if (TrySimple(f, src, out var sv)) return sv is null ? true : UnifyValue(f, pat, sv, k);
        return EvalTerm(f, src, v => UnifyValue(f, pat, v, k));
    }

    private bool UnifyPairs(Value?[] f, T[] a, T[] b, int i, Func<bool> k)
    {
        if (i == a.Length) return k();
        return Unify(f, a[i], b[i], () => UnifyPairs(f, a, b, i + 1, k));
    }

    private bool UnifyValue(Value?[] f, T t, Value v, Func<bool> k)
    {
        switch (t)
        {
            case TConst c: return c.Value.Equals(v) ? k() : true;
            case TVar tv:
                {
                    var cur = f[tv.Slot];
                    if (cur is null) return Bind(f, tv.Slot, v, k);
                    return cur.Equals(v) ? k() : true;
                }
            case TArray ta when !ta.NoVars || HasUnboundPatternVars(f, ta):
                if (v is not ArrayValue av || av.Count != ta.Items.Length) return true;
                return UnifyItems(f, ta.Items, av, 0, k);
            case TObject to when HasUnboundPatternVars(f, to):
                {
                    if (v is not ObjectValue ov || ov.Count != to.Keys.Length) return true;
                    return UnifyObject(f, to, ov, 0, k);
                }
        }
        if (TrySimple(f, t, out var sv)) return sv is not null && sv.Equals(v) ? k() : true;
        return UnifyValueGeneral(f, t, v, k);
    }

    private bool UnifyValueGeneral(Value?[] f, T t, Value v, Func<bool> k) => EvalTerm(f, t, tv2 => tv2.Equals(v) ? k() : true);

    private bool UnifyItems(Value?[] f, T[] items, ArrayValue av, int i, Func<bool> k)
    {
        if (i == items.Length) return k();
        return UnifyValue(f, items[i], av[i], () => UnifyItems(f, items, av, i + 1, k));
    }

    private bool UnifyObject(Value?[] f, TObject to, ObjectValue ov, int i, Func<bool> k)
    {
        if (i == to.Keys.Length) return k();
        return EvalTerm(f, to.Keys[i], key =>
        {
            var val = ov[key];
            if (val is null) return true;
            return UnifyValue(f, to.Values[i], val, () => UnifyObject(f, to, ov, i + 1, k));
        });
    }

    // ------------------------------------------------------------------ terms

    private bool EvalTerm(Value?[] f, T t, Func<Value, bool> k)
    {
        if (t is TRef or TCall or TArray or TObject or TSet && TrySimple(f, t, out var sv)) return sv is null ? true : k(sv);
        switch (t)
        {
            case TConst c: return k(c.Value);
            case TVar v: return f[v.Slot] is { } val ? k(val) : true;
            case TRef r: return EvalRefTerm(f, r, k);
            case TArray a: return EvalArrayTerm(f, a, k);
            case TSet s: return EvalSetTerm(f, s, k);
            case TObject o: return EvalObjectTerm(f, o, k);
            case TCall c: return EvalCall(f, c, k);
            case TCompr cm: return EvalCompr(f, cm, k);
        }
        return true;
    }

    private bool EvalArrayTerm(Value?[] f, TArray a, Func<Value, bool> k)
        => EvalList(f, a.Items, 0, new Value[a.Items.Length], vals => k(new ArrayValue((Value[])vals.Clone())));

    private bool EvalSetTerm(Value?[] f, TSet s, Func<Value, bool> k)
        => EvalList(f, s.Items, 0, new Value[s.Items.Length], vals => k(SetValue.Of((Value[])vals.Clone())));

    private bool EvalObjectTerm(Value?[] f, TObject o, Func<Value, bool> k)
    {
        var all = new T[o.Keys.Length * 2];
        for (int i = 0; i < o.Keys.Length; i++) { all[2 * i] = o.Keys[i]; all[2 * i + 1] = o.Values[i]; }
        return EvalList(f, all, 0, new Value[all.Length], vals =>
        {
            var b = new ObjectValue.Builder(o.Keys.Length);
            for (int i = 0; i < o.Keys.Length; i++) b.Set(vals[2 * i], vals[2 * i + 1]);
            return k(b.Build());
        });
    }

    private bool EvalList(Value?[] f, T[] items, int i, Value[] acc, Func<Value[], bool> k)
    {
        while (i < items.Length && items[i] is TConst c) { acc[i] = c.Value; i++; }
        if (i == items.Length) return k(acc);
        return EvalListItem(f, items, i, acc, k);
    }

    private bool EvalListItem(Value?[] f, T[] items, int i, Value[] acc, Func<Value[], bool> k)
        => EvalTerm(f, items[i], v => { acc[i] = v; return EvalList(f, items, i + 1, acc, k); });

    private bool EvalRefTerm(Value?[] f, TRef r, Func<Value, bool> k)
    {
        switch (r.Root)
        {
            case RootKind.Input:
                return _input is null ? true : EvalPath(f, _input, r.Path, 0, k);
            case RootKind.Data:
                return EvalData(f, r.Path, 0, _st.Root, _data, k);
        }
        return EvalHeadPath(f, r, k);
    }

    private bool EvalHeadPath(Value?[] f, TRef r, Func<Value, bool> k) => EvalTerm(f, r.Head!, hv => EvalPath(f, hv, r.Path, 0, k));

    internal static Value? Lookup(Value coll, Value key)
    {
        switch (coll)
        {
            case ObjectValue o: return o.TryGetValue(key, out var v) ? v : null;
            case ArrayValue a:
                if (key is NumberValue n && n.IsIntegral && n.ToDouble() is var d && d >= 0 && d < a.Count) return a[(int)d];
                return null;
            case SetValue s: return s.Contains(key) ? key : null;
        }
        return null;
    }

    private bool EvalPath(Value?[] f, Value cur, T[] path, int i, Func<Value, bool> k)
    {
        while (i < path.Length)
        {
            var p = path[i];
            Value? key = p switch { TConst c => c.Value, TVar v => f[v.Slot], _ => null };
            if (key is null) break;
            var next = Lookup(cur, key);
            if (next is null) return true;
            cur = next; i++;
        }
        if (i == path.Length) return k(cur);
        var pt = path[i];
        if (pt is TVar || HasUnboundPatternVars(f, pt))
        {
            switch (cur)
            {
                case ArrayValue a:
                    for (int j = 0; j < a.Count; j++)
                    {
                        if (!PathStep(f, pt, NumberValue.FromInt64(j), a[j], path, i + 1, k)) return false;
                    }
                    return true;
                case ObjectValue o:
                    foreach (var e in o.Entries)
                    {
                        if (!PathStep(f, pt, e.Key, e.Value, path, i + 1, k)) return false;
                    }
                    return true;
                case SetValue s:
                    foreach (var item in s.Span)
                    {
                        if (!PathStep(f, pt, item, item, path, i + 1, k)) return false;
                    }
                    return true;
            }
            return true;
        }
        return EvalPathKey(f, cur, pt, path, i, k);
    }

    private bool EvalPathKey(Value?[] f, Value cur, T pt, T[] path, int i, Func<Value, bool> k)
        => EvalTerm(f, pt, key =>
        {
            var next = Lookup(cur, key);
            return next is null ? true : EvalPath(f, next, path, i + 1, k);
        });
}
