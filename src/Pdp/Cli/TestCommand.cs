using System.CommandLine;
using System.Globalization;
using Pdp.Rego.Testing;

namespace Pdp.Cli;

/// <summary>
/// <c>pdp test PATH... [-v] [--run REGEX] [--timeout 5s] [--strict-builtin-errors] [--format pretty|json]</c>, like <c>opa test</c>: every
/// rule named <c>test_*</c> in the loaded modules is a test that passes when it is <c>true</c>. Prints failing tests
/// (every test with <c>-v</c>) and the summary; exit code 0 when all pass, 2 when a test fails or errors, 1 for
/// load/compile errors, no tests, or bad arguments.
/// </summary>
internal static class TestCommand
{
    public static Command Create()
    {
        var paths = new Argument<string[]>("paths") { Description = "Files or directories holding policies, tests and data.", Arity = ArgumentArity.OneOrMore };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "List every test with PASS/FAIL/ERROR." };
        var run = new Option<string?>("--run", "-r") { Description = "Run only tests whose path matches this regular expression." };
        var timeout = new Option<string>("--timeout", "-t") { Description = "Budget per test, e.g. 5s or 500ms.", DefaultValueFactory = _ => "5s" };
        var strict = new Option<bool>("--strict-builtin-errors") { Description = "Treat built-in errors as test errors." };
        var format = new Option<string>("--format", "-f") { Description = "Output format: pretty (opa test's text) or json.", DefaultValueFactory = _ => "pretty" };
        format.AcceptOnlyFromAmong("pretty", "json");

        var command = new Command("test", "Run Rego unit tests (rules named test_*), like opa test.") { paths, verbose, run, timeout, strict, format };
        command.SetAction((parse, ct) =>
        {
            if (ParseDuration(parse.GetValue(timeout) ?? "5s") is not { } budget)
            {
                Console.Error.WriteLine($"pdp test: --timeout must look like 5s, 500ms or 1m, got '{parse.GetValue(timeout)}'");
                return Task.FromResult(1);
            }
            var options = new TestRunOptions { Run = parse.GetValue(run), Timeout = budget, StrictBuiltinErrors = parse.GetValue(strict) };
            return Task.FromResult(Execute(parse.GetValue(paths) ?? [], options, parse.GetValue(verbose), Console.Out, ct, json: parse.GetValue(format) == "json"));
        });
        return command;
    }

    /// <summary>Runs the tests under <paramref name="paths"/>, writes the report (text, or JSON when
    /// <paramref name="json"/>), returns the exit code.</summary>
    internal static int Execute(IReadOnlyList<string> paths, TestRunOptions options, bool verbose, TextWriter stdout, CancellationToken cancellationToken = default, bool json = false)
    {
        var report = RegoTestRunner.RunPaths(paths, options, cancellationToken);
        if (json) RegoTestRunner.WriteJsonReport(report, stdout);
        else RegoTestRunner.WriteReport(report, stdout, verbose);
        return report.ExitCode;
    }

    /// <summary>Parses <c>500ms</c>, <c>5s</c>, <c>2m</c> (or a bare number of seconds); null when malformed or not positive.</summary>
    internal static TimeSpan? ParseDuration(string text)
    {
        text = text.Trim();
        (string number, double scale) = text switch
        {
            _ when text.EndsWith("ms", StringComparison.Ordinal) => (text[..^2], 1.0),
            _ when text.EndsWith('s') => (text[..^1], 1000.0),
            _ when text.EndsWith('m') => (text[..^1], 60_000.0),
            _ => (text, 1000.0),
        };
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !(value > 0) || double.IsInfinity(value))
            return null;
        var ms = value * scale;
        return ms > TimeSpan.MaxValue.TotalMilliseconds / 2 ? null : TimeSpan.FromMilliseconds(ms);
    }
}
