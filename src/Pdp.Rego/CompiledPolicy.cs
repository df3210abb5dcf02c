using Pdp.Rego.Values;

namespace Pdp.Rego;

/// <summary>A rule's document path (e.g. <c>data.policypoint.mcp.test_allow</c>) and where it is defined.</summary>
public sealed record RuleInfo(string Path, RegoLocation Location);

/// <summary>Compile options.</summary>
public sealed record CompileOptions
{
    /// <summary>Rego v1 (OPA 1.x default). Only v1 is supported.</summary>
    public static CompileOptions Default { get; } = new();
}

/// <summary>Compiles Rego modules and base data into an immutable <see cref="CompiledPolicy"/>.</summary>
public static class RegoCompiler
{
    /// <summary>
    /// Parses and compiles <paramref name="modules"/> (Rego v1) with base document <paramref name="data"/>
    /// (an object; null = empty). Throws <see cref="RegoException"/> with every error found
    /// (<c>rego_parse_error</c>, <c>rego_compile_error</c>, <c>rego_type_error</c>, <c>rego_unsafe_var_error</c>,
    /// <c>rego_recursion_error</c>).
    /// </summary>
    public static CompiledPolicy Compile(IReadOnlyList<RegoModuleSource> modules, Value? data = null, CompileOptions? options = null)
        => throw new RegoException("not_implemented", "the Rego compiler is not implemented yet");
}

/// <summary>
/// A compiled policy: immutable, safe to evaluate from many threads at once. Evaluation errors are thrown as
/// <see cref="RegoException"/> (<c>eval_conflict_error</c>, <c>eval_type_error</c>, <c>eval_builtin_error</c>,
/// <c>eval_cancel_error</c>, ...); no other exception escapes.
/// </summary>
public sealed class CompiledPolicy
{
    private CompiledPolicy() { }

    /// <summary>The base document <c>data</c> the policy was compiled with.</summary>
    public Value Data => throw new NotImplementedException();

    /// <summary>Every rule path defined by the modules, once each, in source order (used by <c>pdp test</c>).</summary>
    public IReadOnlyList<RuleInfo> Rules => throw new NotImplementedException();

    /// <summary>
    /// Evaluates a query (e.g. <c>data.test.p = x</c>, or <c>x := 1; y := x + 1</c>) and returns every solution,
    /// as <c>opa eval</c> does. Throws <see cref="RegoException"/> for a query that does not parse or compile
    /// (e.g. <c>rego_unsafe_var_error</c>) and for evaluation errors.
    /// </summary>
    public IReadOnlyList<QueryResultRow> Query(string query, Value? input = null, EvalOptions? options = null, CancellationToken cancellationToken = default)
        => throw new NotImplementedException();

    /// <summary>
    /// Fast path for the PDP: the value of the document at <paramref name="path"/> (e.g.
    /// <c>data.policypoint.mcp.decision</c>), or null when it is undefined.
    /// </summary>
    public Value? Evaluate(string path, Value? input = null, EvalOptions? options = null, CancellationToken cancellationToken = default)
        => throw new NotImplementedException();
}
