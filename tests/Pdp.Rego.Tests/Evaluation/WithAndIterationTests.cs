using Pdp.Rego;
using Pdp.Rego.Values;

namespace Pdp.Rego.Tests.Evaluation;

/// <summary><c>with</c> on built-ins and functions, iteration over virtual documents, patterns.</summary>
public class WithAndIterationTests
{
    private static CompiledPolicy Compile(string module, string? dataJson = null)
        => RegoCompiler.Compile([new RegoModuleSource("p.rego", module)], dataJson is null ? null : Value.FromJson(dataJson));

    private static List<string> Bindings(IReadOnlyList<QueryResultRow> rows, string name)
        => rows.Select(r => r.Bindings[name].ToJson()).ToList();

    [Test]
    public void BuiltinReplacedByValueAndByFunction()
    {
        var p = Compile("package t\nn := count(input.xs)\ntwice(x) := 2\nu := upper(\"a\")\n");
        var input = Value.FromJson("{\"xs\":[1,2,3]}");
        Assert.That(Bindings(p.Query("x := data.t.n with count as 42", input), "x"), Is.EqualTo(new[] { "42" }));
        Assert.That(Bindings(p.Query("x := data.t.n with count as data.t.twice", input), "x"), Is.EqualTo(new[] { "2" }));
        Assert.That(Bindings(p.Query("x := data.t.n", input), "x"), Is.EqualTo(new[] { "3" }));
        Assert.That(Bindings(p.Query("x := data.t.u with upper as lower"), "x"), Is.EqualTo(new[] { "\"a\"" }));
    }

    [Test]
    public void NetworkBuiltinCanBeMockedAndIsUndefinedOtherwise()
    {
        var p = Compile("package t\nmock(_) := {\"status_code\": 200}\nok if http.send({\"method\": \"GET\", \"url\": \"https://x\"}).status_code == 200\n");
        Assert.That(p.Evaluate("data.t.ok"), Is.Null);
        Assert.That(Bindings(p.Query("x := data.t.ok with http.send as data.t.mock"), "x"), Is.EqualTo(new[] { "true" }));
        var ex = Assert.Throws<RegoException>(() => p.Evaluate("data.t.ok", null, new EvalOptions { StrictBuiltinErrors = true }));
        Assert.That(ex!.Code, Is.EqualTo("eval_builtin_error"));
    }

    [Test]
    public void IteratingPartialSetsAndObjectsBindsKeys()
    {
        var p = Compile("package t\ns contains x if some x in [\"b\", \"a\"]\no[k] := 1 if some k in [\"z\", \"y\"]\n");
        Assert.That(Bindings(p.Query("data.t.s[x]"), "x"), Is.EqualTo(new[] { "\"a\"", "\"b\"" }));
        Assert.That(Bindings(p.Query("data.t.o[k] = v"), "k"), Is.EqualTo(new[] { "\"y\"", "\"z\"" }));
        Assert.That(p.Query("data.t.s[\"a\"]"), Has.Count.EqualTo(1));
        Assert.That(p.Query("data.t.s[\"c\"]"), Is.Empty);
    }

    [Test]
    public void DynamicRefsOverRulesAndData()
    {
        var p = Compile("package a\nr := 1\n", "{\"b\":{\"r\":2}}");
        var rows = p.Query("data[pkg].r = v");
        Assert.That(rows.Select(r => r.Bindings["pkg"].ToJson() + "=" + r.Bindings["v"].ToJson()), Is.EquivalentTo(new[] { "\"a\"=1", "\"b\"=2" }));
    }

    [Test]
    public void ArrayAndObjectPatterns()
    {
        var p = Compile("package t\npairs := [[1, \"a\"], [2, \"b\"]]\nfound contains n if { [n, \"b\"] = pairs[_] }\nobj := v if { {\"k\": v} = {\"k\": 7} }\n");
        Assert.That(p.Evaluate("data.t.found")!.ToJson(), Is.EqualTo("[2]"));
        Assert.That(p.Evaluate("data.t.obj")!.ToJson(), Is.EqualTo("7"));
    }

    [Test]
    public void ElseChainsOnCompleteRules()
    {
        var p = Compile("package t\nlevel := \"high\" if input.n > 10\nelse := \"mid\" if input.n > 5\nelse := \"low\"\n");
        Assert.That(p.Evaluate("data.t.level", Value.FromJson("{\"n\":11}"))!.ToJson(), Is.EqualTo("\"high\""));
        Assert.That(p.Evaluate("data.t.level", Value.FromJson("{\"n\":6}"))!.ToJson(), Is.EqualTo("\"mid\""));
        Assert.That(p.Evaluate("data.t.level", Value.FromJson("{\"n\":1}"))!.ToJson(), Is.EqualTo("\"low\""));
    }

    [Test]
    public void UndefinedHeadValueFallsToElse()
    {
        var p = Compile("package t\np := input.x if true\nelse := 2\n");
        Assert.That(p.Evaluate("data.t.p", Value.FromJson("{}"))!.ToJson(), Is.EqualTo("2"));
        Assert.That(p.Evaluate("data.t.p", Value.FromJson("{\"x\":1}"))!.ToJson(), Is.EqualTo("1"));
    }

    [Test]
    public void IntegerAndDoubleAreEqual()
    {
        var p = Compile("package t\np if 1 == 1.0\nq if { x := {1: \"a\"}; x[1.0] == \"a\" }\n");
        Assert.That(p.Evaluate("data.t.p")!.ToJson(), Is.EqualTo("true"));
        Assert.That(p.Evaluate("data.t.q")!.ToJson(), Is.EqualTo("true"));
    }
}
