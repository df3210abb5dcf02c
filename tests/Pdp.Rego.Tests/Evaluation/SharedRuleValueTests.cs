using Pdp.Rego;
using Pdp.Rego.Evaluation;
using Pdp.Rego.Values;

namespace Pdp.Rego.Tests.Evaluation;

/// <summary>Rules that do not depend on input are evaluated once per compiled policy and reused.</summary>
public class SharedRuleValueTests
{
    private const string Module = """
        package t
        # data-only: an index over data.grants
        by_id[g.id] := g if some g in data.grants
        ids contains id if some id, _ in by_id
        n := count(ids)
        # depends on input
        mine := by_id[input.id]
        # depends on input through a function
        f(x) := x if input.on
        via_fn := f(1)
        # nondeterministic
        t := time.now_ns()
        """;

    private const string Data = """{"grants": [{"id": "a"}, {"id": "b"}, {"id": "c"}]}""";

    private static CompiledPolicy Compile() => RegoCompiler.Compile([new RegoModuleSource("p.rego", Module)], Value.FromJson(Data));

    private static (string? Json, long Rules) Run(CompiledPolicy p, string path, string? input = null, EvalOptions? opt = null)
    {
        var stats = new EvalStats();
        var v = p.EvaluateWithStats(path, input is null ? null : Value.FromJson(input), opt, default, stats);
        return (v?.ToJson(), stats.RuleEvaluations);
    }

    [Test]
    public void DataOnlyRuleIsEvaluatedOnceAcrossEvaluations()
    {
        var p = Compile();
        var first = Run(p, "data.t.n");
        Assert.That(first.Json, Is.EqualTo("3"));
        Assert.That(first.Rules, Is.GreaterThan(0));
        var second = Run(p, "data.t.n");
        Assert.That(second.Json, Is.EqualTo("3"));
        Assert.That(second.Rules, Is.EqualTo(0), "n, ids and by_id come from the policy's shared cache");
        // A rule that reads input is evaluated each time, but its data-only dependency is not.
        var mine1 = Run(p, "data.t.mine", """{"id": "b"}""");
        var mine2 = Run(p, "data.t.mine", """{"id": "c"}""");
        Assert.That(mine1.Json, Is.EqualTo("""{"id":"b"}"""));
        Assert.That(mine2.Json, Is.EqualTo("""{"id":"c"}"""));
        Assert.That(mine2.Rules, Is.EqualTo(1), "only mine itself");
    }

    [Test]
    public void InputAndNondeterministicRulesAreNotShared()
    {
        var p = Compile();
        Assert.That(Run(p, "data.t.via_fn", """{"on": true}""").Json, Is.EqualTo("1"));
        Assert.That(Run(p, "data.t.via_fn", """{"on": false}""").Json, Is.Null);
        var t1 = Run(p, "data.t.t", opt: new EvalOptions { Now = DateTimeOffset.FromUnixTimeSeconds(1) }).Json;
        var t2 = Run(p, "data.t.t", opt: new EvalOptions { Now = DateTimeOffset.FromUnixTimeSeconds(2) }).Json;
        Assert.That(t1, Is.EqualTo("1000000000"));
        Assert.That(t2, Is.EqualTo("2000000000"));
    }

    [Test]
    public void WithStillOverridesSharedRules()
    {
        var p = Compile();
        Assert.That(Run(p, "data.t.n").Json, Is.EqualTo("3")); // fills the shared cache
        var rows = p.Query("""x := data.t.n with data.grants as [{"id": "z"}]""");
        Assert.That(rows[0].Bindings["x"].ToJson(), Is.EqualTo("1"));
        rows = p.Query("""x := data.t.n with data.t.ids as {"q"}""");
        Assert.That(rows[0].Bindings["x"].ToJson(), Is.EqualTo("1"));
        // Nothing computed under `with` leaks into the shared cache.
        Assert.That(Run(p, "data.t.n").Json, Is.EqualTo("3"));
        Assert.That(p.Query("x := data.t.n")[0].Bindings["x"].ToJson(), Is.EqualTo("3"));
    }

    [Test]
    public void StrictBuiltinErrorsAreNotMaskedByTheSharedCache()
    {
        var p = RegoCompiler.Compile([new RegoModuleSource("p.rego", "package t\nx := to_number(\"nope\")\n")]);
        Assert.That(p.Evaluate("data.t.x"), Is.Null);
        var ex = Assert.Throws<RegoException>(() => p.Evaluate("data.t.x", null, new EvalOptions { StrictBuiltinErrors = true }));
        Assert.That(ex!.Code, Is.EqualTo("eval_builtin_error"));
    }

    [Test]
    public void ConcurrentEvaluationsAgree()
    {
        var p = Compile();
        var results = new string?[64];
        Parallel.For(0, results.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            var id = ((char)('a' + i % 3)).ToString();
            results[i] = p.Evaluate("data.t.mine", Value.FromJson($$"""{"id": "{{id}}"}"""))?.ToJson() + "|" + p.Evaluate("data.t.n")?.ToJson();
        });
        for (int i = 0; i < results.Length; i++)
            Assert.That(results[i], Is.EqualTo($$"""{"id":"{{(char)('a' + i % 3)}}"}|3"""));
    }
}
