using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Pdp.Rego.Loading;
using Pdp.Rego.Values;

namespace Pdp.Rego.Testing;

/// <summary>How one test ended, as <c>opa test</c> reports it.</summary>
public enum TestOutcome
{
    /// <summary>The rule is defined and its value is <c>true</c>.</summary>
    Pass,
    /// <summary>The rule is undefined, or its value is anything but <c>true</c>.</summary>
    Fail,
    /// <summary>Evaluating the rule raised an error (conflict, strict built-in error, timeout, ...).</summary>
    Error,
    /// <summary>A rule named <c>todo_test_*</c>: listed, not run (as <c>opa test</c> does).</summary>
    Skip,
}

/// <summary>The result of one test rule.</summary>
/// <param name="Path">The rule's document path, e.g. <c>data.policypoint.mcp_test.test_allow</c>.</param>
/// <param name="Location">Where the rule is defined (file, line, column).</param>
/// <param name="Outcome">Pass, fail or error.</param>
/// <param name="Duration">Wall-clock evaluation time.</param>
/// <param name="Message">For <see cref="TestOutcome.Error"/> the error; for a fail with a non-true value, that value.</param>
/// <param name="Output">Lines the test printed with <c>print(...)</c>.</param>
public sealed record TestResult(string Path, RegoLocation Location, TestOutcome Outcome, TimeSpan Duration, string? Message, IReadOnlyList<string> Output);

/// <summary>Options of a test run. Immutable.</summary>
public sealed record TestRunOptions
{
    /// <summary>Run only tests whose full path matches this regular expression (as <c>opa test --run</c>). Null = all.</summary>
    public string? Run { get; init; }

    /// <summary>Budget per test; a test that exceeds it is an <see cref="TestOutcome.Error"/>. Default 5 s, as OPA's.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Built-in errors fail the test as errors instead of making expressions undefined.</summary>
    public bool StrictBuiltinErrors { get; init; }

    /// <summary>Defaults.</summary>
    public static TestRunOptions Default { get; } = new();
}

/// <summary>
/// Everything a run produced. <see cref="Errors"/> holds load and compile errors; when there are any, no test ran.
/// </summary>
/// <param name="Results">One per test, in the order the rules are defined.</param>
/// <param name="Errors">Load or compile errors (<c>file:row:col: code: message</c>), empty when the policy compiled.</param>
public sealed record TestRunReport(IReadOnlyList<TestResult> Results, IReadOnlyList<string> Errors)
{
    /// <summary>Number of passing tests.</summary>
    public int Passed => Results.Count(r => r.Outcome == TestOutcome.Pass);

    /// <summary>Number of failing tests.</summary>
    public int Failed => Results.Count(r => r.Outcome == TestOutcome.Fail);

    /// <summary>Number of tests that raised an error.</summary>
    public int Errored => Results.Count(r => r.Outcome == TestOutcome.Error);

    /// <summary>Number of <c>todo_test_*</c> rules, listed but not run.</summary>
    public int Skipped => Results.Count(r => r.Outcome == TestOutcome.Skip);

    /// <summary>True when the policy compiled, at least one test ran, and no test failed or raised an error.</summary>
    public bool Success => Errors.Count == 0 && Passed > 0 && Failed == 0 && Errored == 0;

    /// <summary>The process exit code: 0 success; 1 load/compile errors or no test ran; 2 any failing or erroring test.</summary>
    public int ExitCode => Errors.Count > 0 ? 1 : Failed > 0 || Errored > 0 ? 2 : Passed == 0 ? 1 : 0;
}

/// <summary>
/// Runs Rego unit tests with <c>opa test</c>'s conventions: every rule whose name starts with <c>test_</c>, in
/// any package, is a test; it passes when its value is <c>true</c>; <c>todo_test_*</c> rules are skipped.
/// Mocking with <c>with</c> is the engine's.
/// </summary>
public static class RegoTestRunner
{
    /// <summary>Loads <paramref name="paths"/> with <see cref="PolicyLoader.LoadPaths"/>, compiles and runs the tests.
    /// Never throws for bad policies: load and compile errors are in <see cref="TestRunReport.Errors"/>.</summary>
    public static TestRunReport RunPaths(IEnumerable<string> paths, TestRunOptions? options = null, CancellationToken cancellationToken = default)
    {
        PolicyBundle bundle;
        try
        {
            bundle = PolicyLoader.LoadPaths(paths);
        }
        catch (PolicyLoadException e)
        {
            return new TestRunReport([], e.Errors.Select(x => x.ToString()).ToList());
        }
        return Run(bundle.Modules, bundle.Data, options, cancellationToken);
    }

    /// <summary>Compiles <paramref name="modules"/> with <paramref name="data"/> and runs every test.
    /// An invalid <see cref="TestRunOptions.Run"/> pattern is reported in <see cref="TestRunReport.Errors"/>.</summary>
    public static TestRunReport Run(IReadOnlyList<RegoModuleSource> modules, Value? data, TestRunOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= TestRunOptions.Default;
        Regex? filter = null;
        if (options.Run is { Length: > 0 } pattern)
        {
            try { filter = new Regex(pattern, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1)); }
            catch (ArgumentException e) { return new TestRunReport([], [$"invalid --run pattern: {e.Message}"]); }
        }

        CompiledPolicy policy;
        try
        {
            policy = RegoCompiler.Compile(modules, data);
        }
        catch (RegoException e)
        {
            return new TestRunReport([], e.Errors.Select(x => x.ToString()).ToList());
        }

        var results = new List<TestResult>();
        foreach (var rule in policy.Rules)
        {
            var todo = IsTodoTest(rule.Path);
            if (!todo && !IsTest(rule.Path)) continue;
            if (filter is not null && !SafeMatch(filter, rule.Path)) continue;
            cancellationToken.ThrowIfCancellationRequested();
            results.Add(todo
                ? new TestResult(rule.Path, rule.Location, TestOutcome.Skip, TimeSpan.Zero, null, [])
                : RunOne(policy, rule, options, cancellationToken));
        }
        return new TestRunReport(results, []);
    }

    /// <summary>True for a rule path whose last segment starts with <c>test_</c>.</summary>
    public static bool IsTest(string rulePath)
    {
        var name = rulePath[(rulePath.LastIndexOf('.') + 1)..];
        return name.StartsWith("test_", StringComparison.Ordinal);
    }

    /// <summary>True for a rule path whose last segment starts with <c>todo_test_</c> (a skipped test).</summary>
    public static bool IsTodoTest(string rulePath)
    {
        var name = rulePath[(rulePath.LastIndexOf('.') + 1)..];
        return name.StartsWith("todo_test_", StringComparison.Ordinal);
    }

    private static bool SafeMatch(Regex filter, string path)
    {
        try { return filter.IsMatch(path); }
        catch (RegexMatchTimeoutException) { return false; }
    }

    private static TestResult RunOne(CompiledPolicy policy, RuleInfo rule, TestRunOptions options, CancellationToken cancellationToken)
    {
        var output = new List<string>();
        var eval = new EvalOptions
        {
            StrictBuiltinErrors = options.StrictBuiltinErrors,
            Timeout = options.Timeout,
            Print = line => { lock (output) output.Add(line); },
        };
        var clock = Stopwatch.StartNew();
        try
        {
            var value = policy.Evaluate(rule.Path, null, eval, cancellationToken);
            clock.Stop();
            return value switch
            {
                BooleanValue { Value: true } => new TestResult(rule.Path, rule.Location, TestOutcome.Pass, clock.Elapsed, null, output),
                null => new TestResult(rule.Path, rule.Location, TestOutcome.Fail, clock.Elapsed, null, output),
                _ => new TestResult(rule.Path, rule.Location, TestOutcome.Fail, clock.Elapsed, $"value is {value.ToJson()}, not true", output),
            };
        }
        catch (RegoException e)
        {
            clock.Stop();
            return new TestResult(rule.Path, rule.Location, TestOutcome.Error, clock.Elapsed, e.Message, output);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            clock.Stop();
            return new TestResult(rule.Path, rule.Location, TestOutcome.Error, clock.Elapsed, "eval_cancel_error: test timed out", output);
        }
    }

    /// <summary>
    /// Writes the report as <c>opa test</c> does. Without <paramref name="verbose"/> only failing and erroring tests
    /// are listed (<c>FAIL: data.pkg.test_x (1.2ms)</c>); with it, every test, grouped by file, with the output
    /// of failing tests. Then a separator and the summary lines <c>PASS: n/m</c>, <c>FAIL: k/m</c>,
    /// <c>ERROR: e/m</c> (each only when non-zero). Load and compile errors are written instead of results.
    /// </summary>
    public static void WriteReport(TestRunReport report, TextWriter output, bool verbose)
    {
        if (report.Errors.Count > 0)
        {
            output.WriteLine(report.Errors.Count == 1 ? "1 error occurred:" : $"{report.Errors.Count} errors occurred:");
            foreach (var e in report.Errors) output.WriteLine(e);
            return;
        }
        if (report.Results.Count == 0)
        {
            output.WriteLine("no test cases found");
            return;
        }

        var shown = verbose ? report.Results : report.Results.Where(r => r.Outcome is TestOutcome.Fail or TestOutcome.Error).ToList();
        foreach (var group in shown.GroupBy(r => r.Location.File))
        {
            output.WriteLine($"{group.Key}:");
            foreach (var r in group)
            {
                var tag = r.Outcome switch { TestOutcome.Pass => "PASS", TestOutcome.Fail => "FAIL", TestOutcome.Skip => "SKIPPED", _ => "ERROR" };
                output.WriteLine(r.Outcome == TestOutcome.Skip ? $"{tag}: {r.Path}" : $"{tag}: {r.Path} ({FormatDuration(r.Duration)})");
                if (r.Outcome is TestOutcome.Fail or TestOutcome.Error && r.Message is not null) output.WriteLine($"  {r.Message}");
                if (r.Outcome is TestOutcome.Fail or TestOutcome.Error || verbose)
                    foreach (var line in r.Output) output.WriteLine($"  {line}");
            }
            output.WriteLine();
        }

        output.WriteLine(new string('-', 80));
        var total = report.Results.Count;
        if (report.Passed > 0) output.WriteLine($"PASS: {report.Passed}/{total}");
        if (report.Failed > 0) output.WriteLine($"FAIL: {report.Failed}/{total}");
        if (report.Errored > 0) output.WriteLine($"ERROR: {report.Errored}/{total}");
        if (report.Skipped > 0) output.WriteLine($"SKIPPED: {report.Skipped}/{total}");
    }

    /// <summary>
    /// Writes the report as <c>opa test --format json</c> does: an array with one object per test,
    /// <c>{"location":{"file","row","col"},"package":"data.pkg","name":"test_x","duration":NANOSECONDS}</c> plus
    /// <c>"fail":true</c>, <c>"error":{"code","message"}</c>, <c>"skip":true</c> and <c>"output"</c> when they apply.
    /// Load and compile errors are written as <c>{"errors":[{"message"}]}</c>.
    /// </summary>
    public static void WriteJsonReport(TestRunReport report, TextWriter output)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(4096);
        using (var w = new System.Text.Json.Utf8JsonWriter(buffer, new System.Text.Json.JsonWriterOptions
               { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            if (report.Errors.Count > 0)
            {
                w.WriteStartObject();
                w.WriteStartArray("errors");
                foreach (var e in report.Errors)
                {
                    w.WriteStartObject();
                    w.WriteString("message", e);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            else
            {
                w.WriteStartArray();
                foreach (var r in report.Results)
                {
                    var dot = r.Path.LastIndexOf('.');
                    w.WriteStartObject();
                    w.WriteStartObject("location");
                    w.WriteString("file", r.Location.File);
                    w.WriteNumber("row", r.Location.Line);
                    w.WriteNumber("col", r.Location.Column);
                    w.WriteEndObject();
                    w.WriteString("package", r.Path[..Math.Max(dot, 0)]);
                    w.WriteString("name", r.Path[(dot + 1)..]);
                    w.WriteNumber("duration", r.Duration.Ticks * 100);
                    if (r.Outcome == TestOutcome.Fail) w.WriteBoolean("fail", true);
                    if (r.Outcome == TestOutcome.Skip) w.WriteBoolean("skip", true);
                    if (r.Outcome == TestOutcome.Error)
                    {
                        w.WriteStartObject("error");
                        w.WriteString("message", r.Message ?? "");
                        w.WriteEndObject();
                    }
                    if (r.Output.Count > 0) w.WriteString("output", string.Join("\n", r.Output) + "\n");
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }
        }
        output.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan));
    }

    /// <summary>Milliseconds with up to three decimals, e.g. <c>0.412ms</c>.</summary>
    public static string FormatDuration(TimeSpan duration) =>
        duration.TotalMilliseconds.ToString("0.###", CultureInfo.InvariantCulture) + "ms";
}
