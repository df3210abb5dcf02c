using System.Text;
using Pdp.Rego;
using Pdp.Rego.Evaluation;
using Pdp.Rego.Values;

namespace Pdp.Rego.Tests.Evaluation;

/// <summary>Evaluation semantics through the public API (and the internal stats hook for indexing).</summary>
public class EvaluatorTests
{
    private static CompiledPolicy Compile(string module, string? dataJson = null)
        => RegoCompiler.Compile([new RegoModuleSource("p.rego", module)], dataJson is null ? null : Value.FromJson(dataJson));

    private static string? Eval(CompiledPolicy p, string path, string? inputJson = null)
        => p.Evaluate(path, inputJson is null ? null : Value.FromJson(inputJson))?.ToJson();

    [Test]
    public void UndefinedIsNotFalse()
    {
        var p = Compile("package t\nallow if input.x == 1\ndefault d := false\nd if input.x == 1\n");
        Assert.That(Eval(p, "data.t.allow", "{\"x\":2}"), Is.Null);
        Assert.That(Eval(p, "data.t.d", "{\"x\":2}"), Is.EqualTo("false"));
        Assert.That(Eval(p, "data.t.d", "{\"x\":1}"), Is.EqualTo("true"));
    }

    [Test]
    public void CompleteRuleConflict()
    {
        var p = Compile("package t\np := 1 if true\np := 2 if true\n");
        var ex = Assert.Throws<RegoException>(() => p.Evaluate("data.t.p"));
        Assert.That(ex!.Code, Is.EqualTo("eval_conflict_error"));
        Assert.That(ex.Message, Does.Contain("complete rules must not produce multiple outputs"));
    }

    [Test]
    public void PartialSetsObjectsAndRefHeads()
    {
        var p = Compile("package t\ns contains x if some x in [3, 1, 3]\no[k] := v if some k, v in {\"a\": 1}\na.b[x].c := 1 if some x in [\"q\"]\n");
        Assert.That(Eval(p, "data.t.s"), Is.EqualTo("[1,3]"));
        Assert.That(Eval(p, "data.t.o"), Is.EqualTo("{\"a\":1}"));
        Assert.That(Eval(p, "data.t.a"), Is.EqualTo("{\"b\":{\"q\":{\"c\":1}}}"));
    }

    [Test]
    public void PartialObjectConflict()
    {
        var p = Compile("package t\no[k] := v if { some k in [\"a\"]; some v in [1, 2] }\n");
        var ex = Assert.Throws<RegoException>(() => p.Evaluate("data.t.o"));
        Assert.That(ex!.Code, Is.EqualTo("eval_conflict_error"));
        Assert.That(ex.Message, Does.Contain("object keys must be unique"));
    }

    [Test]
    public void FunctionsElseAndConflicts()
    {
        var p = Compile("package t\nf(x) := \"pos\" if x > 0\nelse := \"neg\"\ng(x) := 1\ng(x) := 2 if x == 5\na := f(3)\nb := f(-1)\nc := g(5)\n");
        Assert.That(Eval(p, "data.t.a"), Is.EqualTo("\"pos\""));
        Assert.That(Eval(p, "data.t.b"), Is.EqualTo("\"neg\""));
        var ex = Assert.Throws<RegoException>(() => p.Evaluate("data.t.c"));
        Assert.That(ex!.Message, Does.Contain("functions must not produce multiple outputs for same inputs"));
    }

    [Test]
    public void VirtualDocumentsMergeWithBaseData()
    {
        var p = Compile("package a\nr := 2\n", "{\"a\":{\"base\":1}}");
        Assert.That(Eval(p, "data.a"), Is.EqualTo("{\"base\":1,\"r\":2}"));
        var rows = p.Query("data.a[k] = v");
        Assert.That(rows.Select(r => r.Bindings["k"].ToJson()), Is.EquivalentTo(new[] { "\"base\"", "\"r\"" }));
    }

    [Test]
    public void WithReplacesInputDataAndFunctions()
    {
        var p = Compile("package t\nf(x) := x + 1\nuses := f(1)\nv := data.cfg.n\nin_x := input.x\n", "{\"cfg\":{\"n\":1}}");
        Assert.That(p.Query("x := data.t.in_x with input.x as 7")[0].Bindings["x"].ToJson(), Is.EqualTo("7"));
        Assert.That(p.Query("x := data.t.v with data.cfg.n as 9")[0].Bindings["x"].ToJson(), Is.EqualTo("9"));
        Assert.That(p.Query("x := data.t.uses with data.t.f as 40")[0].Bindings["x"].ToJson(), Is.EqualTo("40"));
        // The cache of rule values is not reused across with scopes.
        Assert.That(p.Query("a := data.t.v; b := data.t.v with data.cfg.n as 5")[0].Bindings["a"].ToJson(), Is.EqualTo("1"));
    }

    [Test]
    public void EveryNotAndComprehensions()
    {
        var p = Compile("package t\nall_pos if every x in input.xs { x > 0 }\nnone_neg if not any_neg\nany_neg if { some x in input.xs; x < 0 }\nsq := [y | some x in input.xs; y := x * x]\nm := {k: v | some k, v in {\"a\": 1}}\n");
        Assert.That(Eval(p, "data.t.all_pos", "{\"xs\":[1,2]}"), Is.EqualTo("true"));
        Assert.That(Eval(p, "data.t.all_pos", "{\"xs\":[1,-2]}"), Is.Null);
        Assert.That(Eval(p, "data.t.none_neg", "{\"xs\":[1,2]}"), Is.EqualTo("true"));
        Assert.That(Eval(p, "data.t.sq", "{\"xs\":[2,3]}"), Is.EqualTo("[4,9]"));
        Assert.That(Eval(p, "data.t.m"), Is.EqualTo("{\"a\":1}"));
    }

    [Test]
    public void QueryBindingsAndExpressionValues()
    {
        var p = Compile("package t\np := 5\n");
        var rows = p.Query("x := data.t.p; data.t.p; _ = 1");
        Assert.That(rows, Has.Count.EqualTo(1));
        Assert.That(rows[0].Bindings.Keys, Is.EquivalentTo(new[] { "x" }));
        Assert.That(rows[0].Expressions[0].Value.ToJson(), Is.EqualTo("true"));
        Assert.That(rows[0].Expressions[1].Value.ToJson(), Is.EqualTo("5"));
        Assert.That(p.Query("x := [1, 2][_]").Select(r => r.Bindings["x"].ToJson()), Is.EqualTo(new[] { "1", "2" }));
    }

    [Test]
    public void PrintWritesUndefinedArguments()
    {
        var p = Compile("package t\np if { print(\"hello\", input.missing, {\"a\": [1]}) }\n");
        var lines = new List<string>();
        Assert.That(p.Evaluate("data.t.p", Value.FromJson("{}"), new EvalOptions { Print = lines.Add })!.ToJson(), Is.EqualTo("true"));
        Assert.That(lines, Is.EqualTo(new[] { "hello <undefined> {\"a\": [1]}" }));
    }

    [Test]
    public void WalkIsARelation()
    {
        var p = Compile("package t\npaths := [p | walk({\"a\": [1]}, [p, _])]\n");
        Assert.That(Eval(p, "data.t.paths"), Is.EqualTo("[[],[\"a\"],[\"a\",0]]"));
    }

    [Test]
    public void BuiltinErrorsAreUndefinedUnlessStrict()
    {
        var p = Compile("package t\np := x if { x := 1 / input.d }\n");
        Assert.That(Eval(p, "data.t.p", "{\"d\":0}"), Is.Null);
        var ex = Assert.Throws<RegoException>(() => p.Evaluate("data.t.p", Value.FromJson("{\"d\":0}"), new EvalOptions { StrictBuiltinErrors = true }));
        Assert.That(ex!.Code, Is.EqualTo("eval_builtin_error"));
    }

    [Test]
    public void StepBudgetAndCancellationStopEvaluation()
    {
        var p = Compile("package t\nn := count([x | some x in numbers.range(1, 100000); x % 7 == 0])\n");
        var ex = Assert.Throws<RegoException>(() => p.Evaluate("data.t.n", null, new EvalOptions { MaxSteps = 1000 }));
        Assert.That(ex!.Code, Is.EqualTo("eval_cancel_error"));
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        var ex2 = Assert.Throws<RegoException>(() => p.Evaluate("data.t.n", null, null, cts.Token));
        Assert.That(ex2!.Code, Is.EqualTo("eval_cancel_error"));
        var ex3 = Assert.Throws<RegoException>(() => p.Evaluate("data.t.n", null, new EvalOptions { Timeout = TimeSpan.Zero }));
        Assert.That(ex3!.Code, Is.EqualTo("eval_cancel_error"));
    }

    [Test]
    public void DeepNestingDoesNotOverflowTheStack()
    {
        // A chain of 3000 rules, each depending on the next: evaluation must fail cleanly or succeed, never crash.
        var sb = new StringBuilder("package t\n");
        for (int i = 0; i < 3000; i++) sb.Append($"r{i} := r{i + 1} + 1\n");
        sb.Append("r3000 := 0\n");
        var p = Compile(sb.ToString());
        try
        {
            Assert.That(Eval(p, "data.t.r0"), Is.EqualTo("3000"));
        }
        catch (RegoException e)
        {
            Assert.That(e.Code, Is.EqualTo("eval_internal_error"));
        }
    }

    [Test]
    public void ConcurrentEvaluationsAgree()
    {
        var p = Compile("package t\nallow if { some g in data.grants; g.tool == input.tool }\n", "{\"grants\":[{\"tool\":\"a\"},{\"tool\":\"b\"}]}");
        var results = new string?[64];
        Parallel.For(0, results.Length, i => results[i] = Eval(p, "data.t.allow", i % 2 == 0 ? "{\"tool\":\"a\"}" : "{\"tool\":\"z\"}"));
        for (int i = 0; i < results.Length; i++) Assert.That(results[i], Is.EqualTo(i % 2 == 0 ? "true" : null));
    }

    [Test]
    public void RuleIndexVisitsOnlyMatchingRules()
    {
        var sb = new StringBuilder("package t\n");
        for (int i = 0; i < 2000; i++) sb.Append($"allow if {{ input.tool.name == \"tool{i}\"; input.user == \"u{i % 7}\" }}\n");
        sb.Append("allow if { input.admin == true }\n");
        var p = Compile(sb.ToString());
        var stats = new EvalStats();
        var v = p.EvaluateWithStats("data.t.allow", Value.FromJson("{\"tool\":{\"name\":\"tool1234\"},\"user\":\"u2\"}"), null, default, stats);
        Assert.That(v?.ToJson(), Is.EqualTo("true"));
        // Only the matching rule: it succeeds, and every definition of allow has the same constant value, so the
        // one rule without a test on input.tool.name need not run (early exit).
        Assert.That(stats.RuleEvaluations, Is.EqualTo(1));
        var stats2 = new EvalStats();
        Assert.That(p.EvaluateWithStats("data.t.allow", Value.FromJson("{\"tool\":{\"name\":\"nope\"}}"), null, default, stats2), Is.Null);
        Assert.That(stats2.RuleEvaluations, Is.EqualTo(1));
    }

    [Test]
    public void RuleIndexOnDataRefsAndUnification()
    {
        var sb = new StringBuilder("package t\n");
        for (int i = 0; i < 50; i++) sb.Append($"mode_rule contains {i} if {{ data.cfg.mode = \"m{i}\" }}\n");
        var p = Compile(sb.ToString(), "{\"cfg\":{\"mode\":\"m7\"}}");
        var stats = new EvalStats();
        Assert.That(p.EvaluateWithStats("data.t.mode_rule", null, null, default, stats)?.ToJson(), Is.EqualTo("[7]"));
        Assert.That(stats.RuleEvaluations, Is.EqualTo(1));
        // Under `with`, the index reads the replaced value.
        Assert.That(p.Query("x := data.t.mode_rule with data.cfg.mode as \"m9\"")[0].Bindings["x"].ToJson(), Is.EqualTo("[9]"));
    }

    [Test]
    public void MalformedPathIsARegoError()
    {
        var p = Compile("package t\np := 1\n");
        Assert.Throws<RegoException>(() => p.Evaluate("input.x"));
        Assert.That(Eval(p, "data.t.nope"), Is.Null);
        Assert.That(Eval(p, "data"), Is.EqualTo("{\"t\":{\"p\":1}}"));
    }
}

/// <summary>The public API lets only <see cref="RegoException"/> escape.</summary>
public class ApiErrorTests
{
    [Test]
    public void NullArgumentsAreRegoErrors()
    {
        Assert.Throws<RegoException>(() => RegoCompiler.Compile(null!));
        var p = RegoCompiler.Compile([new RegoModuleSource("p.rego", "package t\np := 1\n")]);
        Assert.Throws<RegoException>(() => p.Query(null!));
        Assert.Throws<RegoException>(() => p.Evaluate(null!));
        var ex = Assert.Throws<RegoException>(() => p.Query("x := "));
        Assert.That(ex!.Code, Is.EqualTo("rego_parse_error"));
    }

    [Test]
    public void NonObjectDataIsRejected()
    {
        var ex = Assert.Throws<RegoException>(() => RegoCompiler.Compile([], Pdp.Rego.Values.Value.FromJson("[1]")));
        Assert.That(ex!.Code, Is.EqualTo("rego_compile_error"));
    }
}

/// <summary>Deeply nested terms compile and evaluate without overflowing the stack (or fail with a RegoException).</summary>
public class DeepNestingTests
{
    [Test]
    public void DeeplyNestedArrayLiteralAndComprehensions()
    {
        const int depth = 900;
        var term = new string('[', depth) + "input.x" + new string(']', depth);
        var comp = "";
        for (int i = 0; i < 100; i++) comp += "[y | y := ";
        comp += "1" + string.Concat(Enumerable.Repeat("]", 100));
        try
        {
            var p = RegoCompiler.Compile([new RegoModuleSource("p.rego", $"package t\np := {term}\nq := {comp}\n")]);
            var v = p.Evaluate("data.t.p", Pdp.Rego.Values.Value.FromJson("{\"x\":1}"));
            Assert.That(v!.ToJson(), Does.StartWith("[[[[").And.Contain("1"));
            Assert.That(p.Evaluate("data.t.q")!.ToJson(), Does.StartWith("[[").And.Contain("1"));
        }
        catch (RegoException e)
        {
            Assert.That(e.Code, Does.StartWith("rego_").Or.StartWith("eval_"));
        }
    }
}
