using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Pdp.Rego.Builtins;
using Pdp.Rego.Compilation;
using Pdp.Rego.Values;

namespace Pdp.Rego.Evaluation;

// Fast paths that avoid continuations: most terms yield at most one value (constants, bound variables, refs whose
// path is ground, calls on such terms) and most expressions of a body are tests or single bindings. These are
// evaluated directly; only iteration falls back to the continuation-passing machinery.
internal sealed partial class Evaluator
{
    /// <summary>
    /// Evaluates <paramref name="t"/> when it yields at most one value without iteration. Returns false when the term
    /// needs the general path (an unbound variable, a comprehension, a relation); otherwise <paramref name="v"/> is
    /// the value or null for undefined.
    /// </summary>
    private bool TrySimple(Value?[] f, T t, out Value? v)
    {
        switch (t)
        {
            case TConst c: v = c.Value; return true;
            case TVar tv: v = f[tv.Slot]; return v is not null;
            case TRef r: return TrySimpleRef(f, r, out v);
            case TCall c: return TrySimpleCall(f, c, out v);
            case TArray a:
                {
                    EnsureStack(a.Loc);
                    var items = new Value[a.Items.Length];
                    for (int i = 0; i < items.Length; i++)
                    {
                        if (!TrySimpleOperand(f, a.Items[i], out var iv)) { v = null; return false; }
                        if (iv is null) { v = null; return true; }
                        items[i] = iv;
                    }
                    v = new ArrayValue(items);
                    return true;
                }
            case TObject o:
                {
                    EnsureStack(o.Loc);
                    // Entries straight into the object's array (no builder).
                    var entries = o.Keys.Length == 0 ? [] : new KeyValuePair<Value, Value>[o.Keys.Length];
                    for (int i = 0; i < entries.Length; i++)
                    {
                        if (!TrySimpleOperand(f, o.Keys[i], out var kv) || !TrySimpleOperand(f, o.Values[i], out var vv)) { v = null; return false; }
                        if (kv is null || vv is null) { v = null; return true; }
                        entries[i] = new(kv, vv);
                    }
                    v = ObjectValue.FromOwnedEntries(entries);
                    return true;
                }
            case TCompr cm:
                // A comprehension always has exactly one value, so composites that hold one (a decision object
                // with `[r | some r in reasons]`) stay on the direct path instead of a continuation per item.
                EnsureStack(cm.Loc);
                v = ComprValue(f, cm);
                return true;
            case TSet s:
                {
                    var items = new Value[s.Items.Length];
                    for (int i = 0; i < items.Length; i++)
                    {
                        if (!TrySimpleOperand(f, s.Items[i], out var iv)) { v = null; return false; }
                        if (iv is null) { v = null; return true; }
                        items[i] = iv;
                    }
                    v = SetValue.Of(items);
                    return true;
                }
        }
        v = null;
        return false;
    }

    /// <summary>
    /// A rule or node cache entry as a value (null for the undefined marker). Entries are only ever a
    /// <see cref="Value"/> or the marker, so the checked cast (a helper call for the non-sealed Value) is skipped.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Value? AsValue(object cached) => cached == Undefined ? null : Unsafe.As<Value>(cached);

    /// <summary>
    /// <see cref="TrySimple"/> with constants and variables (most operands) answered inline, without the call.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TrySimpleOperand(Value?[] f, T t, out Value? v)
    {
        if (t is TConst c) { v = c.Value; return true; }
        if (t is TVar tv) { v = f[tv.Slot]; return v is not null; }
        return TrySimple(f, t, out v);
    }

    /// <summary>
    /// Stores a value into a frame or argument array without the covariant array-store type check (every element
    /// type stored is a <see cref="Value"/>, so the check cannot fail); the index is still bounds-checked.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Value?[] a, int i, Value? v)
    {
        if ((uint)i >= (uint)a.Length) throw new IndexOutOfRangeException();
        Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(a), i) = v;
    }

    private bool TrySimpleKey(Value?[] f, T p, out Value? key)
    {
        switch (p)
        {
            case TConst c: key = c.Value; return true;
            case TVar tv: key = f[tv.Slot]; return key is not null;
            case TArray or TObject or TSet or TCompr: key = null; return false;
            default: return TrySimple(f, p, out key);
        }
    }

    private bool TrySimpleRef(Value?[] f, TRef r, out Value? v)
    {
        v = null;
        Value? cur;
        int i = 0;
        var path = r.Path;
        if (r.Root == RootKind.Input) cur = _input;
        else if (r.Root == RootKind.Data)
        {
            if (_masks is null && ReferenceEquals(_data, _st.Data))
            {
                var state = Volatile.Read(ref r.TargetState);
                if (state == 0) state = ResolveTarget(r);
                if (state == 1)
                {
                    // The rule's value already computed in this evaluation: one array read.
                    if (r.TargetRuleId >= 0 && _ruleCache[r.TargetRuleId] is { } cached)
                    {
                        v = AsValue(cached);
                        return true;
                    }
                    var tn = r.TargetNode!;
                    v = tn.HasRules && tn.Children.Count == 0 ? RuleValue(tn) : NodeValue(tn, null);
                    return true;
                }
                if (state == 3)
                {
                    // A rule's value indexed further (e.g. config.servers[s]): skip the walk down the rule tree.
                    var tn = r.TargetNode!;
                    cur = tn.Children.Count == 0 ? RuleValue(tn) : NodeValue(tn, null);
                    i = r.TargetLen;
                    goto Plain;
                }
            }
            // Walk the rule tree alongside base data while keys are ground.
            RuleNode? node = _st.Root;
            Value? baseVal = _data;
            while (node is not null)
            {
                if (node.HasRules || i == path.Length)
                {
                    cur = node.HasRules && node.Children.Count == 0 && baseVal is null ? RuleValue(node) : NodeValue(node, baseVal);
                    goto Plain;
                }
                if (!TrySimpleKey(f, path[i], out var key)) return false;
                if (key is null) return true;
                StepData(ref node, ref baseVal, key);
                i++;
            }
            // Below the rule tree: base data only (number keys still find string keys).
            cur = baseVal;
            while (i < path.Length && cur is ObjectValue bobj)
            {
                if (!TrySimpleKey(f, path[i], out var bk)) return false;
                if (bk is null) return true;
                var nx = LookupData(bobj, bk);
                if (nx is null) return true;
                cur = nx; i++;
            }
        }
        else
        {
            if (!TrySimple(f, r.Head!, out cur)) return false;
        }
    Plain:
        while (i < path.Length)
        {
            if (cur is null) return PathIsSimple(f, path, i);
            if (!TrySimpleKey(f, path[i], out var key)) return false;
            if (key is null) return true;
            cur = Lookup(cur, key);
            i++;
        }
        v = cur;
        return true;
    }

    /// <summary>Resolves (once per ref, shared by all evaluations) a constant data ref that names a rule node exactly.</summary>
    private int ResolveTarget(TRef r)
    {
        RuleNode? node = _st.Root;
        Value? baseVal = _st.Data;
        int len = 0;
        foreach (var p in r.Path)
        {
            if (node is not null && node.HasRules && baseVal is null && len > 0)
            {
                // The path goes on below a rule node: its value is looked up from there (state 3).
                r.TargetNode = node;
                r.TargetLen = len;
                Volatile.Write(ref r.TargetState, 3); // publish the node and length before the state
                return 3;
            }
            if (p is not TConst c || node is null || node.HasRules) { node = null; break; }
            node = node.Children.TryGetValue(c.Value, out var next) ? next : null;
            baseVal = baseVal is null ? null : Lookup(baseVal, c.Value);
            len++;
        }
        if (node is not null && baseVal is null && node.HasRules)
        {
            r.TargetNode = node;
            if (node.Children.Count == 0) r.TargetRuleId = node.RuleId;
            Volatile.Write(ref r.TargetState, 1); // publish the node before the state
            return 1;
        }
        Volatile.Write(ref r.TargetState, 2);
        return 2;
    }

    /// <summary>True when the rest of a path has no unbound variables (so "undefined" is the complete answer).</summary>
    private static bool PathIsSimple(Value?[] f, T[] path, int i)
    {
        for (; i < path.Length; i++)
        {
            if (path[i] is TVar tv && f[tv.Slot] is null) return false;
            if (path[i] is TArray or TObject or TSet or TCompr) return false;
        }
        return true;
    }

    private bool TrySimpleCall(Value?[] f, TCall c, out Value? v)
    {
        v = null;
        if (c.Intrinsic is Intrinsic.Print or Intrinsic.Walk) return false;
        if (_overrides is not null) return false;
        if (c.FunctionPath is null && c.Args.Length <= ArgBuffer.Size) return TrySimpleBuiltin(f, c, out v);
        var args = RentArgs(c.Args.Length);
        try
        {
            for (int i = 0; i < args.Length; i++)
            {
                if (!TrySimpleOperand(f, c.Args[i], out var a)) return false;
                if (a is null) return true;
                Store(args!, i, a);
            }
            v = CallValue(c, c.Name, c.Builtin, c.FunctionPath, c.Intrinsic, args);
            return true;
        }
        finally { ReturnArgs(args); }
    }

    /// <summary>Up to four built-in arguments on the stack (built-ins only read their span).</summary>
    [InlineArray(Size)]
    private struct ArgBuffer
    {
        public const int Size = 4;
        private Value _e0;
    }

    /// <summary><see cref="TrySimpleCall"/> for built-ins and intrinsics: arguments in a stack buffer, nothing pooled.</summary>
    private bool TrySimpleBuiltin(Value?[] f, TCall c, out Value? v)
    {
        v = null;
        var buf = new ArgBuffer();
        Span<Value> args = buf;
        args = args[..c.Args.Length];
        for (int i = 0; i < args.Length; i++)
        {
            if (!TrySimpleOperand(f, c.Args[i], out var a)) return false;
            if (a is null) return true;
            args[i] = a;
        }
        v = BuiltinValue(c, args);
        return true;
    }

    private Value? BuiltinValue(TCall c, ReadOnlySpan<Value> args) => BuiltinValue(c, c.Name, c.Builtin, c.Intrinsic, args);

    /// <summary>Calls a built-in or intrinsic on ground arguments. Its errors make the call undefined, or, with strict
    /// built-in errors, a RegoException at the call's location (OPA's topdown behaviour).</summary>
    private Value? BuiltinValue(TCall c, string name, BuiltinDefinition? bdef, Intrinsic intr, ReadOnlySpan<Value> args)
    {
        if (intr == Intrinsic.Unsupported)
        {
            if (_opt.StrictBuiltinErrors) throw new RegoException("eval_builtin_error", $"{name}: built-in not supported by this engine (mock it with `with`)", c.Loc);
            return null;
        }
        if (intr != Intrinsic.None) return IntrinsicValue(intr, args);
        if (bdef is null || args.Length != bdef.Arity) return null;
        try
        {
            return bdef.Function(_bctx, args);
        }
        catch (BuiltinException e)
        {
            if (_opt.StrictBuiltinErrors) throw new RegoException(e.Code, e.Message, c.Loc);
            return null;
        }
        catch (RegoException) { throw; }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            if (_opt.StrictBuiltinErrors) throw new RegoException("eval_builtin_error", $"{bdef.Name}: {e.Message}", c.Loc);
            return null;
        }
    }

    // Argument arrays for direct calls, reused within one evaluation (built-ins only read their span).

    private Value[] RentArgs(int n)
    {
        if (n == 0) return [];
        if (n < _scratch.Args.Length && _scratch.Args[n] is { Count: > 0 } st) return st.Pop();
        return new Value[n];
    }

    private void ReturnArgs(Value[] a)
    {
        if (a.Length == 0 || a.Length >= _scratch.Args.Length) return;
        Array.Clear(a);
        var st = _scratch.Args[a.Length] ??= new Stack<Value[]>(4);
        if (st.Count < 16) st.Push(a);
    }

    /// <summary>The result of calling a built-in, function or intrinsic (not walk/print) on ground arguments.</summary>
    private Value? CallValue(TCall c, string name, BuiltinDefinition? bdef, Value[]? fpath, Intrinsic intr, Value[] args)
    {
        if (fpath is not null)
        {
            RuleNode? node;
            if (ReferenceEquals(fpath, c.FunctionPath))
            {
                // Resolved once per call site, shared by evaluations (the tree is immutable).
                if (Volatile.Read(ref c.FunctionState) == 0)
                {
                    c.FunctionNode = _st.Root.Find(fpath);
                    Volatile.Write(ref c.FunctionState, 1);
                }
                node = c.FunctionNode;
            }
            else node = _st.Root.Find(fpath);
            return node is null ? null : CallFunction(node, args, c);
        }
        return BuiltinValue(c, name, bdef, intr, args);
    }

    // ------------------------------------------------------------------ bodies

    /// <summary>
    /// Runs a body: leading expressions that yield at most one solution are evaluated in place (their bindings
    /// undone on return); the first iterating expression continues through the general path.
    /// </summary>
    private bool EvalBody(Value?[] f, X[] body, int i, Func<bool> k)
    {
        Span<int> bound = stackalloc int[16];
        int nb = 0;
        try
        {
            while (i < body.Length)
            {
                var r = TryInline(f, body[i], bound, ref nb);
                if (r < 0)
                {
                    // `some x in coll` / `some k, v in coll` on plain variables: iterate here, no closures.
                    if (body[i] is XSomeIn { With.Length: 0, Negated: false, Value: TVar, Key: null or TVar } si && TrySimple(f, si.Collection, out var coll))
                    {
                        Step();
                        if (coll is null) return true;
                        if (si.ResultSlot >= 0) f[si.ResultSlot] = Value.True;
                        return IterateDirect(f, si, coll, body, i + 1, k);
                    }
                    break;
                }
                if (r == 0) return true;
                i++;
            }
            return i == body.Length ? k() : EvalBodyGeneral(f, body, i, k);
        }
        finally
        {
            for (int j = 0; j < nb; j++) f[bound[j]] = null;
        }
    }

    private bool IterateDirect(Value?[] f, XSomeIn si, Value coll, X[] body, int next, Func<bool> k)
    {
        var vs = ((TVar)si.Value).Slot;
        var ks = si.Key is TVar kv ? kv.Slot : -1;
        switch (coll)
        {
            case ArrayValue a:
                for (int j = 0; j < a.Count; j++)
                    if (!BindPairAndContinue(f, ks, ks < 0 ? null : NumberValue.FromInt64(j), vs, a[j], body, next, k)) return false;
                return true;
            case SetValue s:
                foreach (var item in s.Span)
                    if (!BindPairAndContinue(f, ks, item, vs, item, body, next, k)) return false;
                return true;
            case ObjectValue o:
                foreach (var e in o.Entries)
                    if (!BindPairAndContinue(f, ks, e.Key, vs, e.Value, body, next, k)) return false;
                return true;
        }
        return true;
    }

    private bool BindPairAndContinue(Value?[] f, int ks, Value? key, int vs, Value val, X[] body, int next, Func<bool> k)
    {
        bool setK = false, setV = false;
        try
        {
            if (ks >= 0)
            {
                if (f[ks] is { } bk) { if (!bk.Equals(key!)) return true; }
                else { Store(f, ks, key); setK = true; }
            }
            if (f[vs] is { } bv) { if (!bv.Equals(val)) return true; }
            else { Store(f, vs, val); setV = true; }
            return EvalBody(f, body, next, k);
        }
        finally
        {
            if (setK) f[ks] = null;
            if (setV) f[vs] = null;
        }
    }

    private bool EvalBodyGeneral(Value?[] f, X[] body, int i, Func<bool> k)
    {
        if (i == body.Length - 1) return EvalExpr(f, body[i], k);
        return EvalExpr(f, body[i], () => EvalBody(f, body, i + 1, k));
    }

    /// <summary>1 = succeeded (bindings recorded in <paramref name="bound"/>), 0 = failed, -1 = needs the general path.</summary>
    private int TryInline(Value?[] f, X x, Span<int> bound, ref int nb)
    {
        if (x.With.Length > 0) return -1;
        Step();
        if (x.Negated)
        {
            if (x is XTerm nt && TrySimple(f, nt.Term, out var nv))
                return nv is null || nv is BooleanValue { Value: false } ? 1 : 0;
            EnsureStack(x.Loc);
            // The search returns false only when a solution stopped it.
            return EvalExprInner(f, x, StopK) ? 1 : 0;
        }
        switch (x)
        {
            case XTerm t:
                {
                    if (!TrySimple(f, t.Term, out var v)) return -1;
                    if (v is null || v is BooleanValue { Value: false }) return 0;
                    if (t.ResultSlot >= 0) Store(f, t.ResultSlot, v);
                    return 1;
                }
            case XUnify u:
                {
                    if (nb >= bound.Length) return -1;
                    if (u.Left is TVar lv && f[lv.Slot] is null)
                    {
                        if (u.Right is TVar rv0 && f[rv0.Slot] is null) return -1;
                        if (!TrySimpleOperand(f, u.Right, out var rv)) return -1;
                        if (rv is null) return 0;
                        Store(f, lv.Slot, rv); bound[nb++] = lv.Slot;
                        if (u.ResultSlot >= 0) f[u.ResultSlot] = Value.True;
                        return 1;
                    }
                    if (u.Right is TVar rvar && f[rvar.Slot] is null)
                    {
                        if (!TrySimpleOperand(f, u.Left, out var lval)) return -1;
                        if (lval is null) return 0;
                        Store(f, rvar.Slot, lval); bound[nb++] = rvar.Slot;
                        if (u.ResultSlot >= 0) f[u.ResultSlot] = Value.True;
                        return 1;
                    }
                    if (HasUnboundPatternVars(f, u.Left) || HasUnboundPatternVars(f, u.Right)) return -1;
                    if (!TrySimpleOperand(f, u.Left, out var a)) return -1;
                    if (a is null) return 0;
                    if (!TrySimpleOperand(f, u.Right, out var b)) return -1;
                    if (b is null || !a.Equals(b)) return 0;
                    if (u.ResultSlot >= 0) f[u.ResultSlot] = Value.True;
                    return 1;
                }
            case XEvery e:
                {
                    if (!TrySimple(f, e.Collection, out var coll)) return -1;
                    if (coll is null) return 0;
                    EnsureStack(x.Loc);
                    if (!EvalEvery(f, e, coll)) return 0;
                    if (e.ResultSlot >= 0) f[e.ResultSlot] = Value.True;
                    return 1;
                }
        }
        return -1;
    }
}
