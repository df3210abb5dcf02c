using Pdp.Rego.Values;

namespace Pdp.Rego.Tests.Conformance;

/// <summary>The result of running one case.</summary>
public sealed record CaseOutcome(ConformanceCase Case, bool Passed, bool Skipped, string Detail);

/// <summary>Runs OPA conformance cases through the engine's public API and judges them as OPA's own harness does.</summary>
public static class ConformanceRunner
{
    /// <summary>A case that runs longer than this is a failure (a hang must not stall the suite).</summary>
    private static readonly TimeSpan CaseTimeout = TimeSpan.FromSeconds(20);

    /// <summary>Every case under <paramref name="root"/>, folder by folder (sorted), optionally restricted to <paramref name="folders"/>.</summary>
    public static IEnumerable<ConformanceCase> LoadAll(string root, IReadOnlySet<string>? folders = null)
    {
        foreach (var dir in Directory.GetDirectories(root).OrderBy(d => d, StringComparer.Ordinal))
        {
            var folder = Path.GetFileName(dir);
            if (folders is not null && !folders.Contains(folder)) continue;
            var files = Directory.GetFiles(dir).Where(f => f.EndsWith(".yaml") || f.EndsWith(".yml")).OrderBy(f => f, StringComparer.Ordinal);
            foreach (var file in files)
                foreach (var c in ConformanceCase.Load(folder, file))
                    yield return c;
        }
    }

    /// <summary>Runs one case with a time limit; never throws.</summary>
    public static CaseOutcome Run(ConformanceCase c)
    {
        if (c.Skip) return new CaseOutcome(c, false, true, "skipped by OPA");
        var task = Task.Run(() => RunUnguarded(c));
        try
        {
            if (!task.Wait(CaseTimeout)) return new CaseOutcome(c, false, false, $"timed out after {CaseTimeout.TotalSeconds}s");
            return task.Result;
        }
        catch (AggregateException e)
        {
            var inner = e.InnerException ?? e;
            return new CaseOutcome(c, false, false, $"crashed: {inner.GetType().Name}: {inner.Message}");
        }
    }

    private static CaseOutcome RunUnguarded(ConformanceCase c)
    {
        bool wantsError = c.WantErrorCode is not null || c.WantError is not null;
        try
        {
            var modules = c.Modules.Select((text, i) => new RegoModuleSource($"test-{i}.rego", text)).ToList();
            var policy = RegoCompiler.Compile(modules, c.Data ?? ObjectValue.Empty);
            var input = c.Input;
            if (c.InputTerm is not null)
            {
                var rows = policy.Query($"conformance_input_term = {c.InputTerm}");
                if (rows.Count != 1) return Fail(c, $"input_term {c.InputTerm} gave {rows.Count} results");
                input = rows[0].Bindings["conformance_input_term"];
            }
            var options = new EvalOptions { StrictBuiltinErrors = c.StrictError, Timeout = CaseTimeout };
            var result = policy.Query(c.Query, input, options);
            if (wantsError) return Fail(c, $"want error {c.WantErrorCode} \"{c.WantError}\", got {result.Count} result(s): {Show(result.Select(BindingsOf))}");
            return CompareResults(c, result.Select(BindingsOf).ToList());
        }
        catch (RegoException e)
        {
            if (!wantsError) return Fail(c, $"unexpected error: {e.Message}");
            bool ok = e.Errors.Any(err =>
                (c.WantErrorCode is null || err.Code == c.WantErrorCode) &&
                (c.WantError is null || err.ToString().Contains(c.WantError, StringComparison.Ordinal)));
            return ok ? new CaseOutcome(c, true, false, "")
                      : Fail(c, $"want error {c.WantErrorCode} \"{c.WantError}\", got: {e.Message}");
        }
        catch (Exception e)
        {
            return Fail(c, $"escaped exception {e.GetType().Name}: {e.Message}");
        }
    }

    private static Value BindingsOf(QueryResultRow row)
    {
        var b = new ObjectValue.Builder(row.Bindings.Count);
        foreach (var (k, v) in row.Bindings) b.Set(k, v);
        // OPA compares results as JSON (sets become arrays), like want_result.
        return Value.FromJson(b.Build().ToJson());
    }

    private static CaseOutcome CompareResults(ConformanceCase c, List<Value> got)
    {
        var want = c.WantResult?.ToList() ?? [];
        if (c.SortBindings)
        {
            // As OPA's harness: sort_bindings sorts array values inside each binding, then the rows.
            want = want.Select(SortArrays).ToList();
            got = got.Select(SortArrays).ToList();
            want.Sort();
            got.Sort();
        }
        bool same = want.Count == got.Count && want.Zip(got).All(p => p.First.Equals(p.Second));
        return same ? new CaseOutcome(c, true, false, "") : Fail(c, $"want {Show(want)}\n      got  {Show(got)}");
    }

    private static Value SortArrays(Value row)
    {
        if (row is not ObjectValue o) return row;
        var b = new ObjectValue.Builder(o.Count);
        foreach (var e in o.Entries)
            b.Set(e.Key, e.Value is ArrayValue a ? new ArrayValue(a.Items.OrderBy(v => v).ToArray()) : e.Value);
        return b.Build();
    }

    private static string Show(IEnumerable<Value> rows)
    {
        var s = "[" + string.Join(", ", rows.Select(r => r.ToString())) + "]";
        return s.Length > 600 ? s[..600] + "…" : s;
    }

    private static CaseOutcome Fail(ConformanceCase c, string detail) => new(c, false, false, detail);
}
