using Pdp.Rego.Values;

namespace Pdp.Rego;

/// <summary>A Rego module's source: <paramref name="Path"/> names it in errors and locations.</summary>
public sealed record RegoModuleSource(string Path, string Text);

/// <summary>A position in a Rego source: 1-based line and column, and the file it came from.</summary>
public sealed record RegoLocation(string File, int Line, int Column)
{
    /// <summary><c>file:line:col</c>, as OPA prints locations.</summary>
    public override string ToString() => $"{File}:{Line}:{Column}";
}

/// <summary>One error with OPA's code (e.g. <c>rego_parse_error</c>, <c>rego_unsafe_var_error</c>,
/// <c>eval_conflict_error</c>, <c>eval_builtin_error</c>), message, and location when known.</summary>
public sealed record RegoError(string Code, string Message, RegoLocation? Location = null)
{
    /// <summary>OPA's text form: <c>file:line: code: message</c> (OPA prints no column when the file is known;
    /// <c>line:col</c> when it is not).</summary>
    public override string ToString() => Location is null ? $"{Code}: {Message}"
        : string.IsNullOrEmpty(Location.File) ? $"{Location.Line}:{Location.Column}: {Code}: {Message}"
        : $"{Location.File}:{Location.Line}: {Code}: {Message}";
}

/// <summary>
/// The only exception type the engine lets escape: a compile error (one or more <see cref="Errors"/>) or an
/// evaluation error (exactly one). <see cref="Code"/> is the first error's OPA code.
/// </summary>
public class RegoException : Exception
{
    public RegoException(IReadOnlyList<RegoError> errors)
        : base(errors.Count == 1 ? errors[0].ToString() : $"{errors.Count} errors occurred:\n" + string.Join("\n", errors))
    {
        Errors = errors;
    }

    public RegoException(string code, string message, RegoLocation? location = null)
        : this([new RegoError(code, message, location)]) { }

    /// <summary>All errors, in source order.</summary>
    public IReadOnlyList<RegoError> Errors { get; }

    /// <summary>The first error's code.</summary>
    public string Code => Errors[0].Code;

    /// <summary>The first error's location, if any.</summary>
    public RegoLocation? Location => Errors[0].Location;
}

/// <summary>Per-evaluation options. Immutable; share one instance across threads.</summary>
public sealed record EvalOptions
{
    /// <summary>Built-in errors raise <c>eval_builtin_error</c> instead of making the expression undefined.</summary>
    public bool StrictBuiltinErrors { get; init; }
    /// <summary>Wall-clock budget; exceeding it raises <c>eval_cancel_error</c>. Null = none.</summary>
    public TimeSpan? Timeout { get; init; }
    /// <summary>Step budget (evaluation steps); exceeding it raises <c>eval_cancel_error</c>. Null = none.</summary>
    public long? MaxSteps { get; init; }
    /// <summary>Where <c>print(...)</c> output goes (one line per call). Null = discarded.</summary>
    public Action<string>? Print { get; init; }
    /// <summary>The time <c>time.now_ns</c> returns (fixed for the evaluation). Null = the clock at start.</summary>
    public DateTimeOffset? Now { get; init; }

    /// <summary>Defaults: lenient built-in errors, no budget.</summary>
    public static EvalOptions Default { get; } = new();
}

/// <summary>One expression's value in a query result row, as <c>opa eval</c> reports it.</summary>
public sealed record ExpressionValue(Value Value, string Text, RegoLocation Location);

/// <summary>One solution of a query: each top-level expression's value and the bindings of the query's
/// named variables (variables starting with <c>_</c> or generated ones are omitted, as OPA does).</summary>
public sealed record QueryResultRow(IReadOnlyList<ExpressionValue> Expressions, IReadOnlyDictionary<string, Value> Bindings);
