using Pdp.Rego;

namespace Pdp.Rego.Tests.Compilation;

/// <summary>Compile-time checks: each error with OPA's code, message and a location.</summary>
public class CompilerErrorTests
{
    private static RegoException CompileError(string module)
    {
        var ex = Assert.Throws<RegoException>(() => RegoCompiler.Compile([new RegoModuleSource("p.rego", module)]));
        return ex!;
    }

    [Test]
    public void UnsafeVariableInBody()
    {
        var ex = CompileError("package t\np if { x > 1 }\n");
        Assert.That(ex.Code, Is.EqualTo("rego_unsafe_var_error"));
        Assert.That(ex.Errors[0].Message, Is.EqualTo("var x is unsafe"));
        Assert.That(ex.Errors[0].Location!.Line, Is.EqualTo(2));
    }

    [Test]
    public void UnsafeVariableInHead()
    {
        var ex = CompileError("package t\np := y if { true }\n");
        Assert.That(ex.Code, Is.EqualTo("rego_unsafe_var_error"));
        Assert.That(ex.Errors[0].Message, Does.Contain("var y is unsafe"));
    }

    [Test]
    public void NegatedVariableMustBeBoundElsewhere()
    {
        var ex = CompileError("package t\nq contains 1\np if { not q[x] }\n");
        Assert.That(ex.Code, Is.EqualTo("rego_unsafe_var_error"));
    }

    [Test]
    public void BodyIsReorderedForSafety()
    {
        var policy = RegoCompiler.Compile([new RegoModuleSource("p.rego", "package t\np := y if { y > 1; y = x + 1; x = 2 }\n")]);
        Assert.That(policy.Evaluate("data.t.p")!.ToJson(), Is.EqualTo("3"));
    }

    [Test]
    public void RecursionIsRejected()
    {
        var ex = CompileError("package t\np if q\nq if p\n");
        Assert.That(ex.Code, Is.EqualTo("rego_recursion_error"));
        Assert.That(ex.Errors[0].Message, Does.Contain("is recursive"));
    }

    [Test]
    public void SelfRecursiveFunctionIsRejected()
    {
        var ex = CompileError("package t\nf(x) := y if { y := f(x) }\n");
        Assert.That(ex.Code, Is.EqualTo("rego_recursion_error"));
    }

    [Test]
    public void UndefinedFunction()
    {
        var ex = CompileError("package t\np if { no_such_fn(1) }\n");
        Assert.That(ex.Code, Is.EqualTo("rego_type_error"));
        Assert.That(ex.Errors[0].Message, Is.EqualTo("undefined function no_such_fn"));
    }

    [Test]
    public void WrongArityOfUserFunction()
    {
        var ex = CompileError("package t\nf(x) := x\np if { f(1, 2, 3) }\n");
        Assert.That(ex.Code, Is.EqualTo("rego_type_error"));
        Assert.That(ex.Errors[0].Message, Does.Contain("arity"));
    }

    [Test]
    public void VarAssignedTwice()
    {
        var ex = CompileError("package t\np if { x := 1; x := 2 }\n");
        Assert.That(ex.Code, Is.EqualTo("rego_compile_error"));
        Assert.That(ex.Errors[0].Message, Is.EqualTo("var x assigned above"));
    }

    [Test]
    public void VarReferencedBeforeAssignment()
    {
        var ex = CompileError("package t\np if { x == 1; x := 2 }\n");
        Assert.That(ex.Code, Is.EqualTo("rego_compile_error"));
        Assert.That(ex.Errors[0].Message, Is.EqualTo("var x referenced above"));
    }

    [Test]
    public void AssignToInputIsRejected()
    {
        var ex = CompileError("package t\np if { input := 1 }\n");
        Assert.That(ex.Code, Is.EqualTo("rego_compile_error"));
        Assert.That(ex.Errors[0].Message, Does.Contain("input"));
    }

    [Test]
    public void MultipleDefaults()
    {
        var ex = CompileError("package t\ndefault p := 1\ndefault p := 2\n");
        Assert.That(ex.Code, Is.EqualTo("rego_type_error"));
        Assert.That(ex.Errors[0].Message, Does.Contain("multiple default rules data.t.p found"));
    }

    [Test]
    public void ConflictingRuleKinds()
    {
        var ex = CompileError("package t\np := 1\np contains 2\n");
        Assert.That(ex.Code, Is.EqualTo("rego_type_error"));
        Assert.That(ex.Errors[0].Message, Does.Contain("conflicting rules data.t.p found"));
    }

    [Test]
    public void LiteralOperandTypeIsChecked()
    {
        // count takes a collection or string; a number literal is a type error only if the built-in declares operand types.
        var def = Pdp.Rego.Builtins.BuiltinRegistry.TryGet("count", out var d) ? d : null;
        Assume.That(def?.OperandTypes, Is.Not.Null, "count declares no operand types");
        var ex = CompileError("package t\np if { count(1) }\n");
        Assert.That(ex.Code, Is.EqualTo("rego_type_error"));
    }

    [Test]
    public void AllErrorsAreCollected()
    {
        var ex = CompileError("package t\np if { nope1(1) }\nq if { nope2(2) }\n");
        Assert.That(ex.Errors, Has.Count.EqualTo(2));
    }

    [Test]
    public void ImportsAndAliasesResolve()
    {
        var policy = RegoCompiler.Compile(
        [
            new RegoModuleSource("lib.rego", "package lib.util\nlimit := 3\nf(x) := x * 2\n"),
            new RegoModuleSource("p.rego", "package t\nimport data.lib.util as u\nimport input.user\np := u.f(u.limit) if user.name == \"a\"\n"),
        ]);
        Assert.That(policy.Evaluate("data.t.p", Pdp.Rego.Values.Value.FromJson("{\"user\":{\"name\":\"a\"}}"))!.ToJson(), Is.EqualTo("6"));
    }

    [Test]
    public void RulesListsEachPathOnce()
    {
        var policy = RegoCompiler.Compile([new RegoModuleSource("p.rego", "package t\np if input.a\np if input.b\ntest_x if true\n")]);
        Assert.That(policy.Rules.Select(r => r.Path), Is.EqualTo(new[] { "data.t.p", "data.t.test_x" }));
    }

    [Test]
    public void QueryCompileErrors()
    {
        var policy = RegoCompiler.Compile([new RegoModuleSource("p.rego", "package t\np := 1\n")]);
        var ex = Assert.Throws<RegoException>(() => policy.Query("x > 1"));
        Assert.That(ex!.Code, Is.EqualTo("rego_unsafe_var_error"));
    }
}
