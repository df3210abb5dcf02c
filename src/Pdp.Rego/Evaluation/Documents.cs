using Pdp.Rego.Compilation;
using Pdp.Rego.Values;

namespace Pdp.Rego.Evaluation;

// Virtual documents: rules' values merged with base data at every path of the rule tree.
internal sealed partial class Evaluator
{
    private bool IsMasked(RuleNode n)
    {
        if (_masks is null) return false;
        foreach (var m in _masks)
        {
            if (m.Length > n.Path.Length) continue;
            bool prefix = true;
            for (int i = 0; i < m.Length && prefix; i++) prefix = m[i].Equals(n.Path[i]);
            if (prefix) return true;
        }
        return false;
    }

    private RuleNode? Child(RuleNode n, Value key)
    {
        if (!n.Children.TryGetValue(key, out var c)) return null;
        return _masks is not null && IsMasked(c) ? null : c;
    }

    // One step down data by a ground key, in the rule tree and in base data together. data's object keys are strings:
    // a number key finds the key with its text (data[2] is data["2"]) when nothing answers to the number itself.
    private void StepData(ref RuleNode? node, ref Value? baseVal, Value key)
    {
        if (key is NumberValue num && (baseVal is ObjectValue || node!.Children.Count > 0)
            && Lookup(baseVal ?? ObjectValue.Empty, key) is null && Child(node!, key) is null)
            key = new StringValue(num.ToText());
        node = Child(node!, key);
        baseVal = baseVal is null ? null : Lookup(baseVal, key);
        if (baseVal is not null && baseVal is not ObjectValue && node is not null) baseVal = null;
    }

    // A member of a base data object below the rule tree; a number key also finds the key with its text.
    private static Value? LookupData(ObjectValue obj, Value key) =>
        Lookup(obj, key) ?? (key is NumberValue n ? Lookup(obj, new StringValue(n.ToText())) : null);

    private bool EvalData(Value?[] f, T[] path, int i, RuleNode? node, Value? baseVal, Func<Value, bool> k)
    {
        while (true)
        {
            if (node is null)
            {
                if (baseVal is null) return true;
                // Keep converting number keys to strings while walking base objects (data.nested[2]).
                while (i < path.Length && baseVal is ObjectValue bobj)
                {
                    Value? bk = path[i] switch { TConst c => c.Value, TVar tv => f[tv.Slot], _ => null };
                    if (bk is null) break;
                    var nx = LookupData(bobj, bk);
                    if (nx is null) return true;
                    baseVal = nx; i++;
                }
                return EvalPath(f, baseVal, path, i, k);
            }
            if (node.HasRules || i == path.Length)
            {
                if (node.HasRules && i < path.Length && node.Children.Count == 0 && baseVal is null)
                {
                    // Fast membership/lookup of partial sets and objects without building the value twice.
                    var rv = RuleValue(node);
                    return rv is null ? true : EvalPath(f, rv, path, i, k);
                }
                var v = NodeValue(node, baseVal);
                return v is null ? true : EvalPath(f, v, path, i, k);
            }
            var p = path[i];
            Value? key = p switch { TConst c => c.Value, TVar tv => f[tv.Slot], _ => null };
            if (key is not null)
            {
                StepData(ref node, ref baseVal, key);
                i++;
                continue;
            }
            var n0 = node; var b0 = baseVal; var i0 = i;
            if (p is TVar || HasUnboundPatternVars(f, p))
            {
                // Iterate keys of base data and of the rule tree.
                var keys = new List<Value>();
                if (b0 is ObjectValue bo) foreach (var e in bo.Entries) keys.Add(e.Key);
                foreach (var ck in n0.Children.Keys) if (b0 is not ObjectValue bo2 || !bo2.ContainsKey(ck)) keys.Add(ck);
                foreach (var kv in keys)
                {
                    var child = Child(n0, kv);
                    var cb = b0 is null ? null : Lookup(b0, kv);
                    if (!UnifyValue(f, p, kv, () => EvalData(f, path, i0 + 1, child, cb, k))) return false;
                }
                return true;
            }
            return EvalTerm(f, p, kv =>
            {
                var child = Child(n0, kv);
                var cb = b0 is null ? null : Lookup(b0, kv);
                return EvalData(f, path, i0 + 1, child, cb, k);
            });
        }
    }

    /// <summary>The full value of a node: its rules' value merged with base data and the values of its children.</summary>
    private Value? NodeValue(RuleNode node, Value? baseVal)
    {
        if (_nodeCache is not null && _nodeCache[node.Id] is { } cached && baseVal is null) return AsValue(cached);
        Value? result;
        if (node.HasRules && node.Children.Count == 0)
        {
            var rv = RuleValue(node);
            result = rv is ObjectValue ro && baseVal is ObjectValue bo ? Merge(bo, ro) : rv ?? baseVal;
        }
        else
        {
            var b = new ObjectValue.Builder();
            var bo = baseVal as ObjectValue;
            if (baseVal is not null && bo is null && !node.HasRules) return baseVal;
            if (bo is not null) foreach (var e in bo.Entries) if (!node.Children.ContainsKey(e.Key)) b.Set(e.Key, e.Value);
            foreach (var (key, child) in node.Children)
            {
                var cb = bo?[key];
                if (_masks is not null && IsMasked(child)) { if (cb is not null) b.Set(key, cb); continue; }
                var cv = NodeValue(child, cb);
                // Base data wins over a virtual document at the same key, except that objects merge.
                if (cb is not null && (cv is not ObjectValue || cb is not ObjectValue)) cv = cb;
                if (cv is not null) b.Set(key, cv);
            }
            result = b.Build();
            if (node.HasRules && RuleValue(node) is ObjectValue rov) result = Merge((ObjectValue)result, rov);
        }
        if (baseVal is null) (_nodeCache ??= new object?[_st.NodeCount])[node.Id] = result ?? Undefined;
        return result;
    }

    private static ObjectValue Merge(ObjectValue a, ObjectValue b)
    {
        var r = a;
        foreach (var e in b.Entries)
        {
            var existing = r[e.Key];
            r = r.With(e.Key, existing is ObjectValue eo && e.Value is ObjectValue vo ? Merge(eo, vo) : e.Value);
        }
        return r;
    }

    // ------------------------------------------------------------------ rules

    private CRule[] Candidates(RuleNode node)
    {
        var idx = node.Index;
        if (idx is null) return node.RulesArray;
        Value? v;
        if (idx.Ref.Root == RootKind.Input)
        {
            v = _input;
            foreach (var p in idx.Ref.Path)
            {
                if (v is null) break;
                v = Lookup(v, ((TConst)p).Value);
            }
        }
        else if (!TrySimpleRef([], idx.Ref, out v)) return node.RulesArray;
        if (v is not null && idx.Candidates.TryGetValue(v, out var c)) return c;
        return idx.UnindexedRules;
    }


    /// <summary>The value the rules mounted at <paramref name="node"/> produce (null = undefined).</summary>
    private Value? RuleValue(RuleNode node)
    {
        if (_ruleCache[node.RuleId] is { } cached) return AsValue(cached);
        // Input-independent rules are computed once per policy, except under `with` (its own cache array).
        object?[]? shared = null;
        if (node.Shareable && ReferenceEquals(_ruleCache, _rootRuleCache))
        {
            shared = _st.SharedRuleCache(_opt.StrictBuiltinErrors);
            if (Volatile.Read(ref shared[node.RuleId]) is { } sv)
            {
                _ruleCache[node.RuleId] = sv;
                return AsValue(sv);
            }
        }
        EnsureStack(node.Rules.Count > 0 ? node.Rules[0].Loc : null!);
        Value? result = node.Kind switch
        {
            RuleKind.Complete => CompleteValue(node),
            RuleKind.MultiValue => MultiValue(node),
            RuleKind.Dynamic => DynamicValue(node),
            _ => null,
        };
        _ruleCache[node.RuleId] = result ?? Undefined;
        if (shared is not null) Volatile.Write(ref shared[node.RuleId], result ?? Undefined);
        return result;
    }

    private Value? CompleteValue(RuleNode node)
    {
        Value? result = null;
        foreach (var rule in Candidates(node))
        {
            if (rule.Else is null && rule.Value is TConst cv)
            {
                // A constant value (e.g. `allow if ...`): one solution of the body is enough.
                if (Stats is not null) Stats.Count(rule);
                var fr = RentFrame(rule.SlotCount);
                bool found;
                try { found = !EvalBody(fr, rule.Body, 0, StopK); }
                finally { ReturnFrame(fr); }
                if (found && node.ConstAll) return cv.Value; // the other definitions cannot change the value
                if (found)
                {
                    if (result is null) result = cv.Value;
                    else if (!result.Equals(cv.Value))
                        throw new RegoException("eval_conflict_error", $"complete rules must not produce multiple outputs: rule {rule.PathString} produced conflicting values", rule.Loc);
                }
                continue;
            }
            if (rule.Else is null)
            {
                // One definition with a computed value: a pooled collector instead of per-rule closures.
                if (Stats is not null) Stats.Count(rule);
                var s = RentSol(SolMode.Complete, rule, rule.Value!);
                s.Result = result;
                try
                {
                    EvalBody(s.F, rule.Body, 0, s.OnBody);
                    result = s.Result;
                }
                finally { ReturnSol(s); }
                continue;
            }
            result = CompleteChain(rule, result);
        }
        if (result is null && node.Default is { } d) result = DefaultValue(d);
        return result;
    }

    // The closures of else chains and defaults live here, so CompleteValue itself allocates none.
    private Value? CompleteChain(CRule rule, Value? result)
    {
        EvalChain(rule, (r, fr) => EvalTerm(fr, r.Value!, v =>
        {
            _chainProduced = true;
            if (result is null) result = v;
            else if (!result.Equals(v))
                throw new RegoException("eval_conflict_error", $"complete rules must not produce multiple outputs: rule {r.PathString} produced conflicting values", r.Loc);
            return r.Value is not TConst;
        }));
        return result;
    }

    private Value? DefaultValue(CRule d)
    {
        // `default p := v` is lowered with the body `true`: no frame, no chain, no closures.
        if (d.Else is null && d.Value is TConst c && (d.Body.Length == 0 || (d.Body.Length == 1 && IsPlainTrue(d.Body[0]))))
        {
            if (Stats is not null) Stats.Count(d);
            return c.Value;
        }
        return DefaultChain(d);
    }

    // The closure captures a local: in its own method, so the fast path above allocates nothing.
    private Value? DefaultChain(CRule d)
    {
        Value? result = null;
        EvalChain(d, (r, fr) => EvalTerm(fr, r.Value!, v => { result = v; return false; }));
        return result;
    }

    private static bool IsPlainTrue(X x)
        => x is XTerm { Negated: false, With.Length: 0, ResultSlot: < 0, Term: TConst { Value: BooleanValue { Value: true } } };

    private Value? MultiValue(RuleNode node)
    {
        var items = RentList();
        try
        {
        foreach (var rule in Candidates(node))
        {
            if (rule.Else is null)
            {
                if (Stats is not null) Stats.Count(rule);
                var s = RentSol(SolMode.Collect, rule, rule.Key!);
                s.Items = items;
                try { EvalBody(s.F, rule.Body, 0, s.OnBody); }
                finally { ReturnSol(s); }
                continue;
            }
            MultiChain(rule, items);
        }
        return SetValue.Of(items);
        }
        finally { ReturnList(items); }
    }

    private List<Value> RentList() => _scratch.Lists.Count > 0 ? _scratch.Lists.Pop() : new List<Value>();

    private void ReturnList(List<Value> l)
    {
        if (l.Count > 256 || _scratch.Lists.Count >= 16) return; // keep small lists only
        l.Clear();
        _scratch.Lists.Push(l);
    }

    private void MultiChain(CRule rule, List<Value> items)
    {
        Func<Value, bool> add = v => { items.Add(v); return true; };
        EvalChain(rule, (r, fr) =>
        {
            if (TrySimple(fr, r.Key!, out var kv)) { if (kv is not null) items.Add(kv); return true; }
            return EvalTerm(fr, r.Key!, add);
        });
    }

    /// <summary>A mutable tree for building the object of ref-head rules with conflict detection.</summary>
    private sealed class MObj
    {
        public readonly Dictionary<Value, object> Entries = new();
        public Value ToValue()
        {
            var b = new ObjectValue.Builder(Entries.Count);
            foreach (var (k, v) in Entries) b.Set(k, v is MObj m ? m.ToValue() : v is List<Value> l ? SetValue.Of(l) : (Value)v);
            return b.Build();
        }
    }

    private Value? DynamicValue(RuleNode node)
    {
        var root = new MObj();
        bool any = false;
        foreach (var rule in Candidates(node))
        {
            EvalChain(rule, (r, fr) =>
            {
                var keyTerms = r.HeadRef.AsSpan(r.StaticLen).ToArray();
                return EvalList(fr, keyTerms, 0, new Value[keyTerms.Length], keys =>
                {
                    if (r.Value is null)
                        return EvalTerm(fr, r.Key!, elem => { Insert(root, keys, null, elem, r); any = true; return true; });
                    return EvalTerm(fr, r.Value, v => { Insert(root, keys, v, null, r); any = true; return true; });
                });
            });
        }
        if (!any && node.Default is { } d)
        {
            Value? dv = null;
            EvalChain(d, (r, fr) => EvalTerm(fr, r.Value!, v => { dv = v; return false; }));
            return dv;
        }
        return root.ToValue();
    }

    private static void Insert(MObj root, Value[] keys, Value? value, Value? element, CRule r)
    {
        var cur = root;
        for (int i = 0; i < keys.Length - 1; i++)
        {
            if (cur.Entries.TryGetValue(keys[i], out var next))
            {
                if (next is MObj m) { cur = m; continue; }
                throw Conflict(r, keys, i);
            }
            var nm = new MObj();
            cur.Entries[keys[i]] = nm;
            cur = nm;
        }
        var last = keys[^1];
        if (element is not null)
        {
            if (!cur.Entries.TryGetValue(last, out var ex)) cur.Entries[last] = ex = new List<Value>();
            if (ex is not List<Value> l) throw Conflict(r, keys, keys.Length - 1);
            l.Add(element);
            return;
        }
        if (cur.Entries.TryGetValue(last, out var existing))
        {
            if (existing is Value ev && ev.Equals(value!)) return;
            throw Conflict(r, keys, keys.Length - 1);
        }
        cur.Entries[last] = value!;
    }

    private static RegoException Conflict(CRule r, Value[] keys, int upto)
    {
        var path = r.PathString + string.Concat(keys.Take(upto + 1).Select(k => k is StringValue s ? "." + s.Value : "[" + k + "]"));
        return new RegoException("eval_conflict_error", $"object keys must be unique: rule {path} produced conflicting values", r.Loc);
    }

    /// <summary>Evaluates a rule and its else chain: the first rule of the chain with a solution wins.</summary>
    /// <summary>Set by a chain's value callback when the head value was defined (an undefined value tries the else).</summary>
    private bool _chainProduced;

    private void EvalChain(CRule rule, Func<CRule, Value?[], bool> onSolution)
    {
        for (var r = rule; r is not null; r = r.Else)
        {
            if (Stats is not null) Stats.Count(r);
            bool any = false;
            var fr = new Value?[r.SlotCount];
            var rr = r;
            var saved = _chainProduced;
            _chainProduced = false;
            try
            {
                EvalBody(fr, r.Body, 0, () => { any = true; return onSolution(rr, fr); });
                // Only complete rules with else report values through the flag; other kinds have no else.
                if (any && (rule.Else is null || _chainProduced)) return;
            }
            finally { _chainProduced = saved; }
        }
    }
}

internal sealed partial class Evaluator
{
    internal enum SolMode { Complete, Collect, Function }

    /// <summary>
    /// The continuation of one rule body: evaluates the rule's value (or element) term per solution and records it.
    /// Instances and their delegates are pooled per evaluation (a stack, since bodies nest), so evaluating a rule
    /// allocates no closures.
    /// </summary>
    internal sealed class Sol
    {
        public Evaluator Ev = null!;
        public readonly Func<bool> OnBody;
        public readonly Func<Value, bool> OnValue;
        public SolMode Mode;
        public Value?[] F = null!;
        public T Term = null!;
        public CRule Rule = null!;
        public Value? Result;
        public List<Value>? Items;
        /// <summary>A value was produced (functions: this definition applies).</summary>
        public bool Any;

        public Sol() { OnBody = Body; OnValue = Record; }

        private bool Body()
        {
            if (Ev.TrySimpleOperand(F, Term, out var v)) return v is null || Record(v);
            return Ev.EvalTerm(F, Term, OnValue);
        }

        private bool Record(Value v)
        {
            Any = true;
            switch (Mode)
            {
                case SolMode.Collect:
                    Items!.Add(v);
                    return true;
                case SolMode.Function:
                    RecordFunctionValue(ref Result, Rule, v);
                    return true;
                default:
                    if (Result is null) Result = v;
                    else if (!Result.Equals(v))
                        throw new RegoException("eval_conflict_error", $"complete rules must not produce multiple outputs: rule {Rule.PathString} produced conflicting values", Rule.Loc);
                    return Term is not TConst;
            }
        }
    }


    private Sol RentSol(SolMode mode, CRule rule, T term)
    {
        var s = _scratch.Sols.Count > 0 ? _scratch.Sols.Pop() : new Sol();
        s.Ev = this;
        s.Mode = mode; s.Rule = rule; s.Term = term; s.F = RentFrame(rule.SlotCount);
        s.Result = null; s.Items = null; s.Any = false;
        return s;
    }

    /// <summary>A collector that adds <paramref name="head"/>'s values to <paramref name="items"/> for a body run on <paramref name="f"/> itself.</summary>
    private Sol RentSolOn(Value?[] f, T head, List<Value> items)
    {
        var s = _scratch.Sols.Count > 0 ? _scratch.Sols.Pop() : new Sol();
        s.Ev = this; s.Mode = SolMode.Collect; s.Rule = null!; s.Term = head; s.F = f;
        s.Result = null; s.Items = items; s.Any = false;
        return s;
    }

    private void ReturnSolOn(Sol s)
    {
        s.F = null!; s.Items = null; s.Result = null; s.Term = null!; s.Ev = null!;
        if (_scratch.Sols.Count < 32) _scratch.Sols.Push(s);
    }

    private void ReturnSol(Sol s)
    {
        ReturnFrame(s.F);
        s.F = null!; s.Items = null; s.Result = null; s.Term = null!; s.Rule = null!; s.Ev = null!;
        if (_scratch.Sols.Count < 32) _scratch.Sols.Push(s);
    }
}
