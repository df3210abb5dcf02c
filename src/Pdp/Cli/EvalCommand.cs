using System.CommandLine;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Pdp.Rego;
using Pdp.Rego.Loading;
using Pdp.Rego.Values;

namespace Pdp.Cli;

/// <summary>
/// <c>pdp eval -d FILE_OR_DIR ... [-i input.json] [--format json|pretty] [--strict-builtin-errors] [--fail] 'QUERY'</c>,
/// like <c>opa eval</c>: loads policies and data (see <see cref="PolicyLoader.LoadPaths"/>), evaluates the query and
/// prints OPA's result shape <c>{"result":[{"expressions":[{"value","text","location"}],"bindings":{}}]}</c>
/// (<c>{}</c> when the query is undefined). Errors print <c>{"errors":[{"code","message","location"}]}</c>.
/// Exit code: 0 on success (also when undefined, unless <c>--fail</c>), 1 on any error.
/// </summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        var data = new Option<string[]>("--data", "-d") { Description = "Policy or data file or directory (repeatable): .rego, data.json/data.yaml, or a bundle .tar.gz." };
        var input = new Option<string?>("--input", "-i") { Description = "Input document file (JSON or YAML)." };
        var format = new Option<string>("--format", "-f") { Description = "Output format: json (OPA's result shape) or pretty.", DefaultValueFactory = _ => "json" };
        format.AcceptOnlyFromAmong("json", "pretty");
        var strict = new Option<bool>("--strict-builtin-errors") { Description = "Treat built-in errors as fatal instead of undefined." };
        var fail = new Option<bool>("--fail") { Description = "Exit 1 when the query is undefined." };
        var query = new Argument<string>("query") { Description = "The Rego query, e.g. data.policypoint.mcp.decision." };

        var command = new Command("eval", "Evaluate a Rego query, like opa eval.") { data, input, format, strict, fail, query };
        command.SetAction((parse, ct) => Task.FromResult(Execute(new EvalRequest(
            parse.GetValue(data) ?? [],
            parse.GetValue(input),
            parse.GetValue(format) ?? "json",
            parse.GetValue(strict),
            parse.GetValue(fail),
            parse.GetValue(query) ?? ""), Console.Out, ct)));
        return command;
    }

    /// <summary>The arguments of one <c>pdp eval</c>.</summary>
    internal sealed record EvalRequest(IReadOnlyList<string> DataPaths, string? InputPath, string Format, bool StrictBuiltinErrors, bool Fail, string Query);

    private static readonly JsonWriterOptions Indented = new() { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true };

    /// <summary>Runs one evaluation and writes its result or errors to <paramref name="stdout"/>; returns the exit code.
    /// Never throws for bad input.</summary>
    internal static int Execute(EvalRequest request, TextWriter stdout, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrWhiteSpace(request.Query))
            return WriteErrors(stdout, [new RegoError("rego_parse_error", "empty query")]);

        PolicyBundle bundle;
        Value? inputValue = null;
        try
        {
            bundle = PolicyLoader.LoadPaths(request.DataPaths);
            if (request.InputPath is { } inputPath) inputValue = PolicyLoader.ReadValueFile(inputPath);
        }
        catch (PolicyLoadException e)
        {
            return WriteErrors(stdout, e.Errors.Select(x => new RegoError("load_error", x.Reason, new RegoLocation(x.File, 0, 0))).ToList());
        }

        IReadOnlyList<QueryResultRow> rows;
        try
        {
            var policy = RegoCompiler.Compile(bundle.Modules, bundle.Data);
            var options = new EvalOptions { StrictBuiltinErrors = request.StrictBuiltinErrors, Print = line => Console.Error.WriteLine(line) };
            rows = policy.Query(request.Query, inputValue, options, cancellationToken);
        }
        catch (RegoException e)
        {
            return WriteErrors(stdout, e.Errors);
        }

        if (request.Format == "pretty") WritePretty(stdout, rows);
        else WriteJson(stdout, rows);
        return request.Fail && rows.Count == 0 ? 1 : 0;
    }

    /// <summary>OPA's JSON result shape, indented by two spaces.</summary>
    internal static void WriteJson(TextWriter stdout, IReadOnlyList<QueryResultRow> rows)
    {
        stdout.WriteLine(Render(w =>
        {
            w.WriteStartObject();
            if (rows.Count > 0)
            {
                w.WriteStartArray("result");
                foreach (var row in rows)
                {
                    w.WriteStartObject();
                    w.WriteStartArray("expressions");
                    foreach (var e in row.Expressions)
                    {
                        w.WriteStartObject();
                        w.WritePropertyName("value");
                        e.Value.WriteJson(w);
                        w.WriteString("text", e.Text);
                        w.WriteStartObject("location");
                        w.WriteNumber("row", e.Location.Line);
                        w.WriteNumber("col", e.Location.Column);
                        w.WriteEndObject();
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                    if (row.Bindings.Count > 0)
                    {
                        w.WriteStartObject("bindings");
                        foreach (var (name, value) in row.Bindings.OrderBy(b => b.Key, StringComparer.Ordinal))
                        {
                            w.WritePropertyName(name);
                            value.WriteJson(w);
                        }
                        w.WriteEndObject();
                    }
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }
            w.WriteEndObject();
        }));
    }

    /// <summary>
    /// Human-readable output: <c>undefined</c>; the value alone when there is one expression and no bindings;
    /// otherwise a table with one column per binding and per expression (expressions that are <c>true</c> in every
    /// row are left out when there are bindings).
    /// </summary>
    internal static void WritePretty(TextWriter stdout, IReadOnlyList<QueryResultRow> rows)
    {
        if (rows.Count == 0) { stdout.WriteLine("undefined"); return; }
        if (rows.Count == 1 && rows[0].Bindings.Count == 0 && rows[0].Expressions.Count == 1)
        {
            stdout.WriteLine(Render(w => rows[0].Expressions[0].Value.WriteJson(w)));
            return;
        }
        var bindingNames = rows.SelectMany(r => r.Bindings.Keys).Distinct().Order(StringComparer.Ordinal).ToList();
        // As opa eval's pretty output: with bindings, expressions that are simply true in every row add nothing.
        var expressionCount = rows.Max(r => r.Expressions.Count);
        var shownExpressions = Enumerable.Range(0, expressionCount)
            .Where(i => bindingNames.Count == 0 || rows.Any(r => i >= r.Expressions.Count || r.Expressions[i].Value is not BooleanValue { Value: true }))
            .ToList();
        var headers = bindingNames.Concat(shownExpressions.Select(i => rows[0].Expressions.ElementAtOrDefault(i)?.Text ?? "")).ToList();
        var table = rows.Select(r => bindingNames.Select(n => r.Bindings.TryGetValue(n, out var v) ? v.ToJson() : "")
            .Concat(shownExpressions.Select(i => i < r.Expressions.Count ? r.Expressions[i].Value.ToJson() : "")).ToList()).ToList();
        var widths = headers.Select((h, i) => Math.Max(h.Length, table.Max(row => i < row.Count ? row[i].Length : 0))).ToList();
        var rule = "+" + string.Join("+", widths.Select(w => new string('-', w + 2))) + "+";
        string Line(IReadOnlyList<string> cells) =>
            "|" + string.Join("|", widths.Select((w, i) => " " + (i < cells.Count ? cells[i] : "").PadRight(w) + " ")) + "|";
        stdout.WriteLine(rule);
        stdout.WriteLine(Line(headers));
        stdout.WriteLine(rule);
        foreach (var row in table) stdout.WriteLine(Line(row));
        stdout.WriteLine(rule);
    }

    /// <summary>OPA's error shape: <c>{"errors":[{"code","message","location":{"file","row","col"}}]}</c>; returns 1.</summary>
    internal static int WriteErrors(TextWriter stdout, IReadOnlyList<RegoError> errors)
    {
        stdout.WriteLine(Render(w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("errors");
            foreach (var e in errors)
            {
                w.WriteStartObject();
                w.WriteString("code", e.Code);
                w.WriteString("message", e.Message);
                if (e.Location is { } loc)
                {
                    w.WriteStartObject("location");
                    w.WriteString("file", loc.File);
                    // Load errors name a file but no position in it.
                    if (loc.Line > 0) w.WriteNumber("row", loc.Line);
                    if (loc.Column > 0) w.WriteNumber("col", loc.Column);
                    w.WriteEndObject();
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }));
        return 1;
    }

    private static string Render(Action<Utf8JsonWriter> write)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(buffer, Indented)) write(w);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
