using Pdp.Rego;
using Pdp.Rego.Values;

namespace Pdp.Rego.Tests.Evaluation;

/// <summary>Per-thread reuse of evaluation working memory and per-call-site caches must not change results.</summary>
public class ReuseTests
{
    private static CompiledPolicy Compile(string module, string? dataJson = null)
        => RegoCompiler.Compile([new RegoModuleSource("p.rego", module)], dataJson is null ? null : Value.FromJson(dataJson));

    [Test]
    public void EvaluationAfterAnErrorIsUnaffected()
    {
        var p = Compile("package t\nbad := x if { some x in input.xs }\nok contains y if { some y in input.xs }\n");
        var ex = Assert.Throws<RegoException>(() => p.Evaluate("data.t.bad", Value.FromJson("""{"xs": [1, 2]}""")));
        Assert.That(ex!.Code, Is.EqualTo("eval_conflict_error"));
        Assert.That(p.Evaluate("data.t.ok", Value.FromJson("""{"xs": [3, 4]}"""))?.ToJson(), Is.EqualTo("[3,4]"));
        Assert.That(p.Evaluate("data.t.bad", Value.FromJson("""{"xs": [5]}"""))?.ToJson(), Is.EqualTo("5"));
    }

    [Test]
    public void NestedEvaluationOnTheSameThread()
    {
        var p = Compile("package t\nouter := [a, b] if { a := input.n; print(\"hi\"); b := count({x | some x in input.xs}) }\ninner := input.n * 10\n");
        var seen = new List<string?>();
        var opt = new EvalOptions
        {
            // The print sink runs inside the outer evaluation and starts another one on this thread.
            Print = _ => seen.Add(p.Evaluate("data.t.inner", Value.FromJson("""{"n": 7}"""))?.ToJson()),
        };
        var v = p.Evaluate("data.t.outer", Value.FromJson("""{"n": 1, "xs": [1, 2, 2, 3]}"""), opt);
        Assert.That(v?.ToJson(), Is.EqualTo("[1,3]"));
        Assert.That(seen, Is.EqualTo(new[] { "70" }));
    }

    [Test]
    public void RefIntoARuleValueHonoursWith()
    {
        var p = Compile("""
            package t
            cfg := data.base
            port := cfg.servers[input.s].port
            """, """{"base": {"servers": {"a": {"port": 1}, "b": {"port": 2}}}}""");
        Assert.That(p.Evaluate("data.t.port", Value.FromJson("""{"s": "a"}"""))?.ToJson(), Is.EqualTo("1"));
        Assert.That(p.Evaluate("data.t.port", Value.FromJson("""{"s": "b"}"""))?.ToJson(), Is.EqualTo("2"));
        Assert.That(p.Evaluate("data.t.port", Value.FromJson("""{"s": "c"}""")), Is.Null);
        var rows = p.Query("""x := data.t.port with data.t.cfg as {"servers": {"a": {"port": 9}}} with input as {"s": "a"}""");
        Assert.That(rows[0].Bindings["x"].ToJson(), Is.EqualTo("9"));
        Assert.That(p.Evaluate("data.t.port", Value.FromJson("""{"s": "a"}"""))?.ToJson(), Is.EqualTo("1"));
    }

    [Test]
    public void ManyEvaluationsAllocateLittle()
    {
        var p = Compile("package t\nallow if { input.user == \"alice\"; some r in input.roles; r == \"admin\" }\nnames := [n | some n in input.roles]\n");
        var input = Value.FromJson("""{"user": "alice", "roles": ["dev", "admin"]}""");
        for (int i = 0; i < 50; i++) p.Evaluate("data.t.names", input); // warm the pools
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++) Assert.That(p.Evaluate("data.t.allow", input), Is.EqualTo(Value.True));
        long perEval = (GC.GetAllocatedBytesForCurrentThread() - before) / 100;
        Assert.That(perEval, Is.LessThan(1024), "a simple decision reuses the evaluator's working memory");
    }

    [Test]
    public void EarlyExitOnlyWhenEveryDefinitionHasTheSameConstant()
    {
        var p = Compile("package t\nf(x) if x > 0\nf(x) if x > 1\ng(x) := 1 if x > 0\ng(x) := 2 if x > 1\nh := f(5)\nk := g(5)\n");
        var stats = new Pdp.Rego.Evaluation.EvalStats();
        Assert.That(p.EvaluateWithStats("data.t.h", null, null, default, stats)?.ToJson(), Is.EqualTo("true"));
        Assert.That(stats.RuleEvaluations, Is.EqualTo(2), "h and the first definition of f");
        // Different constants: every definition runs, and the conflict is still found.
        var ex = Assert.Throws<RegoException>(() => p.Evaluate("data.t.k"));
        Assert.That(ex!.Code, Is.EqualTo("eval_conflict_error"));
    }
}
