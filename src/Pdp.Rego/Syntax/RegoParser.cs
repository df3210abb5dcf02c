namespace Pdp.Rego.Syntax;

/// <summary>
/// Entry points of the Rego v1 parser (the syntax OPA 1.x accepts by default). Every method is thread-safe
/// (each call uses its own state) and never throws anything but <see cref="RegoException"/> with code
/// <c>rego_parse_error</c>; the exception lists every error found (in source order), each with file:line:col.
/// <para>
/// AST conventions beyond those documented in Ast.cs: a bare <c>data</c> or <c>input</c> is a
/// <see cref="RefTerm"/> with an empty path (as in OPA); unary minus on a non-literal is <c>minus(0, x)</c>
/// (OPA only accepts it on number literals); with <c>import future.keywords.not</c> or <c>import rego.v2</c>
/// (OPA 1.17's improved negation) <c>not { body }</c> and a negated expression containing calls become
/// <c>count([true | body]) == 0</c>, so the whole expression is evaluated inside the negation.
/// </para>
/// </summary>
public static class RegoParser
{
    /// <summary>Maximum nesting depth of terms, bodies and expressions; deeper input is a parse error
    /// ("max parsing recursion depth exceeded") rather than a stack overflow.</summary>
    public const int MaxNestingDepth = 1000;

    /// <summary>
    /// Parses one module: <c>package</c>, imports (<c>import rego.v1</c> and <c>import future.keywords...</c>
    /// are validated and dropped) and rules. <paramref name="file"/> names the module in locations and errors.
    /// </summary>
    /// <exception cref="RegoException">rego_parse_error: syntax errors, a missing package, v1 violations
    /// (e.g. "`if` keyword is required before rule body").</exception>
    public static Module ParseModule(string file, string text)
    {
        file ??= "";
        if (text is null) throw new RegoException("rego_parse_error", "module text is null", new RegoLocation(file, 1, 1));
        return Guard(file, () => new Parser(file, text).ParseModule());
    }

    /// <summary>
    /// Parses a query, e.g. <c>data.test.p = x</c> or <c>x := 1; y := x + 1</c>: expressions separated by
    /// <c>;</c> or line breaks. An empty query is an error.
    /// </summary>
    /// <exception cref="RegoException">rego_parse_error.</exception>
    public static Body ParseQuery(string text, string file = "query")
    {
        file ??= "query";
        if (text is null) throw new RegoException("rego_parse_error", "query text is null", new RegoLocation(file, 1, 1));
        return Guard(file, () => new Parser(file, text).ParseQuery());
    }

    /// <summary>Parses a single term, e.g. a test case's <c>input_term</c> (<c>{"a": [1, 2]}</c>, <c>set()</c>).</summary>
    /// <exception cref="RegoException">rego_parse_error when the text is not exactly one term.</exception>
    public static Term ParseTerm(string text, string file = "term")
    {
        file ??= "term";
        if (text is null) throw new RegoException("rego_parse_error", "term text is null", new RegoLocation(file, 1, 1));
        return Guard(file, () => new Parser(file, text).ParseSingleTerm());
    }

    // Converts anything unexpected (a bug, or a host with a tiny stack) into a parse error so that only
    // RegoException escapes.
    private static T Guard<T>(string file, Func<T> f)
    {
        try
        {
            return f();
        }
        catch (RegoException)
        {
            throw;
        }
        catch (InsufficientExecutionStackException)
        {
            throw new RegoException("rego_parse_error", "max parsing recursion depth exceeded", new RegoLocation(file, 1, 1));
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            throw new RegoException("rego_parse_error", "internal parser error: " + ex.Message, new RegoLocation(file, 1, 1));
        }
    }
}
