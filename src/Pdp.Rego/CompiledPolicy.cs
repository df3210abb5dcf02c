using System.Collections.Concurrent;
using Pdp.Rego.Compilation;
using Pdp.Rego.Evaluation;
using Pdp.Rego.Syntax;
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
    {
        if (modules is null || modules.Any(m => m is null || m.Text is null || m.Path is null))
            throw new RegoException("rego_compile_error", "modules must be non-null (each with a path and a text)");
        data ??= ObjectValue.Empty;
        if (data is not ObjectValue)
            throw new RegoException("rego_compile_error", $"data must be an object but got {data.TypeName}");
        var parsed = new List<Module>(modules.Count);
        var errors = new List<RegoError>();
        foreach (var m in modules)
        {
            try { parsed.Add(RegoParser.ParseModule(m.Path, m.Text)); }
            catch (RegoException e) { errors.AddRange(e.Errors); }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                errors.Add(new RegoError("rego_parse_error", "internal parser error: " + e.Message, new RegoLocation(m.Path, 1, 1)));
            }
        }
        if (errors.Count > 0) throw new RegoException(errors);
        try
        {
            return new CompiledPolicy(Compiler.Compile(parsed, data));
        }
        catch (RegoException) { throw; }
        catch (InsufficientExecutionStackException)
        {
            throw new RegoException("rego_compile_error", "policy nested too deeply to compile");
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new RegoException("rego_compile_error", "internal compiler error: " + e.Message);
        }
    }
}

/// <summary>
/// A compiled policy: immutable, safe to evaluate from many threads at once. Evaluation errors are thrown as
/// <see cref="RegoException"/> (<c>eval_conflict_error</c>, <c>eval_type_error</c>, <c>eval_builtin_error</c>,
/// <c>eval_cancel_error</c>, ...); no other exception escapes.
/// </summary>
public sealed class CompiledPolicy
{
    private readonly CompiledState _state;
    private readonly ConcurrentDictionary<string, TRef> _paths = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, CompiledQuery> _queries = new(StringComparer.Ordinal);

    internal CompiledPolicy(CompiledState state) => _state = state;

    /// <summary>The base document <c>data</c> the policy was compiled with.</summary>
    public Value Data => _state.Data;

    /// <summary>Every rule path defined by the modules, once each, in source order (used by <c>pdp test</c>).</summary>
    public IReadOnlyList<RuleInfo> Rules => _state.Rules;

    /// <summary>
    /// Evaluates a query (e.g. <c>data.test.p = x</c>, or <c>x := 1; y := x + 1</c>) and returns every solution,
    /// as <c>opa eval</c> does. Throws <see cref="RegoException"/> for a query that does not parse or compile
    /// (e.g. <c>rego_unsafe_var_error</c>) and for evaluation errors.
    /// </summary>
    public IReadOnlyList<QueryResultRow> Query(string query, Value? input = null, EvalOptions? options = null, CancellationToken cancellationToken = default)
        => QueryWithStats(query, input, options, cancellationToken, null);

    internal IReadOnlyList<QueryResultRow> QueryWithStats(string query, Value? input, EvalOptions? options, CancellationToken cancellationToken, EvalStats? stats)
    {
        if (query is null) throw new RegoException("rego_parse_error", "query must not be null");
        var q = _queries.TryGetValue(query, out var cached) ? cached : CompileQuery(query);
        return Guard(() =>
        {
            var ev = Evaluator.Start(_state, input, options, cancellationToken, stats);
            var rows = (IReadOnlyList<QueryResultRow>)ev.RunQuery(q);
            ev.Release();
            return rows;
        });
    }

    private CompiledQuery CompileQuery(string query)
    {
        CompiledQuery q;
        try { q = Compiler.CompileQuery(RegoParser.ParseQuery(query), _state.Root); }
        catch (RegoException) { throw; }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new RegoException("rego_compile_error", "internal compiler error: " + e.Message);
        }
        if (_queries.Count < 1024) _queries.TryAdd(query, q);
        return q;
    }

    /// <summary>
    /// Fast path for the PDP: the value of the document at <paramref name="path"/> (e.g.
    /// <c>data.policypoint.mcp.decision</c>), or null when it is undefined. Throws <see cref="RegoException"/>
    /// for a malformed path (<c>rego_parse_error</c>) and for evaluation errors.
    /// </summary>
    public Value? Evaluate(string path, Value? input = null, EvalOptions? options = null, CancellationToken cancellationToken = default)
        => EvaluateWithStats(path, input, options, cancellationToken, null);

    internal Value? EvaluateWithStats(string path, Value? input, EvalOptions? options, CancellationToken cancellationToken, EvalStats? stats)
    {
        if (path is null) throw new RegoException("rego_parse_error", "path must not be null");
        if (!_paths.TryGetValue(path, out var r))
        {
            r = ParsePath(path);
            if (_paths.Count < 1024) _paths.TryAdd(path, r);
        }
        // No Guard closure on the hot path: the same exception mapping, inline.
        Evaluator? ev = null;
        try
        {
            ev = Evaluator.Start(_state, input, options, cancellationToken, stats);
            var v = ev.EvalRef(r);
            ev.Release();
            return v;
        }
        catch (Exception e) when (e is not RegoException && e is not OutOfMemoryException)
        {
            throw MapException(e);
        }
    }

    private static RegoException MapException(Exception e) => e switch
    {
        OperationCanceledException => new RegoException("eval_cancel_error", "caller cancelled query execution"),
        InsufficientExecutionStackException => new RegoException("eval_internal_error", "evaluation nested too deeply (stack limit reached)"),
        _ => new RegoException("eval_internal_error", "internal evaluation error: " + e.GetType().Name + ": " + e.Message),
    };

    private static TRef ParsePath(string path)
    {
        var loc = new RegoLocation("path", 1, 1);
        var parts = path.Split('.');
        if (parts.Length == 0 || parts[0] != "data" || parts.Any(p => p.Length == 0 && parts.Length > 1))
            throw new RegoException("rego_parse_error", $"path must be data or start with data. (got \"{path}\")", loc);
        var segs = parts.Skip(1).Select(p => (T)new TConst { Value = new StringValue(p), Loc = loc, NoVars = true }).ToArray();
        return new TRef { Root = RootKind.Data, Path = segs, Loc = loc, NoVars = true };
    }

    private static TResult Guard<TResult>(Func<TResult> run)
    {
        try { return run(); }
        catch (RegoException) { throw; }
        catch (OperationCanceledException) { throw new RegoException("eval_cancel_error", "caller cancelled query execution"); }
        catch (InsufficientExecutionStackException) { throw new RegoException("eval_internal_error", "evaluation nested too deeply (stack limit reached)"); }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new RegoException("eval_internal_error", "internal evaluation error: " + e.GetType().Name + ": " + e.Message);
        }
    }
}
