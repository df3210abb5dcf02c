using Pdp.Rego.Values;

namespace Pdp.Rego.Evaluation;

/// <summary>
/// Reusable working memory of evaluations on one thread: the evaluator itself, the per-evaluation rule cache, pooled
/// frames, argument arrays and body collectors. One evaluation owns it at a time (taken from a thread-static slot, given back
/// cleared when the evaluation ends), so steady-state evaluations allocate none of it.
/// </summary>
internal sealed class EvalScratch
{
    [ThreadStatic] private static EvalScratch? t_free;

    public object?[] RuleCache;
    /// <summary>The evaluator that runs on this scratch (created on first use, reused by later evaluations).</summary>
    public Evaluator? Evaluator;
    /// <summary>Frames by size (sizes below <see cref="MaxPooledFrame"/>).</summary>
    public readonly Stack<Value?[]>?[] Frames = new Stack<Value?[]>?[MaxPooledFrame];
    public readonly Stack<Value[]>?[] Args = new Stack<Value[]>?[5];
    public readonly Stack<Evaluator.Sol> Sols = new(8);
    /// <summary>Lists for collecting set/array elements (their values are copied out before the list is returned).</summary>
    public readonly Stack<List<Value>> Lists = new(8);
    public const int MaxPooledFrame = 64;

    private EvalScratch(int ruleNodes) => RuleCache = new object?[ruleNodes];

    /// <summary>This thread's free scratch (or a new one when it is in use or absent).</summary>
    public static EvalScratch Take(int ruleNodes)
    {
        var s = t_free;
        if (s is null) return new EvalScratch(ruleNodes);
        t_free = null;
        if (s.RuleCache.Length != ruleNodes) s.RuleCache = new object?[ruleNodes];
        return s;
    }

    /// <summary>Clears what the evaluation left (no values kept alive) and makes it available again.</summary>
    public void Release()
    {
        Array.Clear(RuleCache);
        t_free = this;
    }
}
