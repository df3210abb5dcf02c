using System.Text.RegularExpressions;
using Pdp.Cli;
using Pdp.Rego.Testing;

namespace Pdp.Tests.Cli;

/// <summary><c>pdp test</c>: the runner on the shipped policy library, on a deliberately broken copy, and on small
/// policies that exercise each outcome.</summary>
[TestFixture]
public class TestCommandTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = CliTestSupport.NewTempDir("pdp-test-cmd");

    [TearDown]
    public void TearDown() => CliTestSupport.DeleteQuietly(_dir);

    private static (int Exit, string Output) Run(IReadOnlyList<string> paths, bool verbose = false, TestRunOptions? options = null)
    {
        var output = new StringWriter();
        var exit = TestCommand.Execute(paths, options ?? TestRunOptions.Default, verbose, output);
        return (exit, output.ToString());
    }

    private string Write(string relative, string content)
    {
        var path = Path.Combine(_dir, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        return path;
    }

    // The number of test rules in rego/: each starts a line with "test_".
    private static int CountShippedTests() =>
        Directory.EnumerateFiles(CliTestSupport.RegoDir, "*_test.rego", SearchOption.AllDirectories)
            .Sum(f => File.ReadLines(f).Count(l => Regex.IsMatch(l, @"^test_[A-Za-z0-9_]+ if")));

    [Test]
    public void Shipped_policy_library_passes_every_test()
    {
        var expected = CountShippedTests();
        Assert.That(expected, Is.GreaterThan(60), "the library's tests were not found");

        var (exit, output) = Run([CliTestSupport.RegoDir]);

        Assert.That(output, Does.Contain($"PASS: {expected}/{expected}"), output);
        Assert.That(output, Does.Not.Contain("FAIL:").And.Not.Contain("ERROR:"));
        Assert.That(exit, Is.EqualTo(0));
    }

    [Test]
    public void Broken_policy_copy_fails_with_the_failing_tests_named()
    {
        var copy = Path.Combine(_dir, "rego");
        CliTestSupport.CopyTree(CliTestSupport.RegoDir, copy);
        // Break the default-deny rule: "no matching grant" no longer produces the no_grant reason.
        var grants = Path.Combine(copy, "mcp", "grants.rego");
        var text = File.ReadAllText(grants);
        Assert.That(text, Does.Contain("count(matching_grants) == 0"));
        File.WriteAllText(grants, text.Replace("count(matching_grants) == 0", "count(matching_grants) < 0"));

        var (exit, output) = Run([copy]);

        Assert.That(exit, Is.EqualTo(2), output);
        Assert.That(output, Does.Match(@"FAIL: data\.policypoint\.mcp_test\.test_deny_second_identity_without_grant \([0-9.]+ms\)"));
        Assert.That(output, Does.Match(@"\nFAIL: [0-9]+/" + CountShippedTests() + @"\b"));
        Assert.That(output, Does.Not.Contain("PASS: data."), "without -v, passing tests are not listed");
    }

    [Test]
    public void Outcomes_pass_fail_error_and_non_true_values()
    {
        Write("p.rego", """
            package demo

            p := 1 if true
            p := 2 if true

            allow if input.user == "alice"
            """);
        Write("p_test.rego", """
            package demo_test

            import data.demo

            test_allow_alice if demo.allow with input as {"user": "alice"}

            test_allow_bob if demo.allow with input as {"user": "bob"}

            test_conflict if demo.p == 1

            test_not_boolean := "yes"

            todo_test_later if false

            helper if true
            """);

        var (exit, output) = Run([_dir], verbose: true);

        Assert.That(exit, Is.EqualTo(2), output);
        Assert.That(output, Does.Contain("PASS: data.demo_test.test_allow_alice ("));
        Assert.That(output, Does.Contain("FAIL: data.demo_test.test_allow_bob ("));
        Assert.That(output, Does.Contain("ERROR: data.demo_test.test_conflict ("));
        Assert.That(output, Does.Contain("eval_conflict_error"));
        Assert.That(output, Does.Contain("FAIL: data.demo_test.test_not_boolean ("));
        Assert.That(output, Does.Not.Contain("helper"));
        Assert.That(output, Does.Contain("SKIPPED: data.demo_test.todo_test_later"));
        Assert.That(output, Does.Contain("PASS: 1/5").And.Contain("FAIL: 2/5").And.Contain("ERROR: 1/5").And.Contain("SKIPPED: 1/5"));
    }

    [Test]
    public void Run_filter_selects_tests_by_path()
    {
        Write("t_test.rego", """
            package t

            test_one if true

            test_two if false
            """);
        var (exit, output) = Run([_dir], options: new TestRunOptions { Run = "test_one$" });
        Assert.That(exit, Is.EqualTo(0), output);
        Assert.That(output, Does.Contain("PASS: 1/1"));

        var (badExit, badOutput) = Run([_dir], options: new TestRunOptions { Run = "(" });
        Assert.That(badExit, Is.EqualTo(1));
        Assert.That(badOutput, Does.Contain("invalid --run pattern"));
    }

    [Test]
    public void Compile_errors_are_reported_with_location_and_exit_1()
    {
        Write("bad.rego", "package bad\n\np if {\n");
        var (exit, output) = Run([_dir]);
        Assert.That(exit, Is.EqualTo(1));
        Assert.That(output, Does.Contain("rego_parse_error"));
        Assert.That(output, Does.Contain("bad.rego:"));
    }

    [Test]
    public void No_tests_and_missing_paths_exit_1()
    {
        Write("p.rego", "package p\n\nallow := true\n");
        var (exit, output) = Run([_dir]);
        Assert.That(exit, Is.EqualTo(1));
        Assert.That(output, Does.Contain("no test cases found"));

        var (missingExit, missingOutput) = Run([Path.Combine(_dir, "nope")]);
        Assert.That(missingExit, Is.EqualTo(1));
        Assert.That(missingOutput, Does.Contain("no such file or directory"));
    }

    [Test]
    public void Print_output_of_a_failing_test_is_shown()
    {
        Write("t_test.rego", """
            package t

            test_prints if {
                print("checking", 42)
                false
            }
            """);
        var (exit, output) = Run([_dir]);
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(output, Does.Contain("checking 42"));
    }

    [Test]
    public void Json_format_lists_each_test_with_its_outcome()
    {
        Write("t_test.rego", """
            package t

            test_ok if true

            test_bad if false
            """);
        var output = new StringWriter();
        var exit = TestCommand.Execute([_dir], TestRunOptions.Default, verbose: false, output, json: true);
        Assert.That(exit, Is.EqualTo(2));
        var results = System.Text.Json.Nodes.JsonNode.Parse(output.ToString())!.AsArray();
        Assert.That(results.Select(r => r!["name"]!.GetValue<string>()), Is.EqualTo(new[] { "test_ok", "test_bad" }));
        Assert.That(results[0]!["package"]!.GetValue<string>(), Is.EqualTo("data.t"));
        Assert.That(results[0]!["fail"], Is.Null);
        Assert.That(results[1]!["fail"]!.GetValue<bool>(), Is.True);
        Assert.That(results[1]!["location"]!["row"]!.GetValue<int>(), Is.EqualTo(5));
    }

    [TestCase("5s", 5000)]
    [TestCase("250ms", 250)]
    [TestCase("2m", 120000)]
    [TestCase("1.5", 1500)]
    public void Durations_parse(string text, double ms) =>
        Assert.That(TestCommand.ParseDuration(text), Is.EqualTo(TimeSpan.FromMilliseconds(ms)));

    [TestCase("")]
    [TestCase("-1s")]
    [TestCase("0")]
    [TestCase("soon")]
    [TestCase("1e300m")]
    public void Bad_durations_are_rejected(string text) => Assert.That(TestCommand.ParseDuration(text), Is.Null);
}
