using System.Text.Json.Nodes;
using Pdp.Cli;

namespace Pdp.Tests.Cli;

/// <summary><c>pdp eval</c>: OPA's result and error shapes, on the shipped policy library and small policies.</summary>
[TestFixture]
public class EvalCommandTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = CliTestSupport.NewTempDir("pdp-eval-cmd");

    [TearDown]
    public void TearDown() => CliTestSupport.DeleteQuietly(_dir);

    private string Write(string relative, string content)
    {
        var path = Path.Combine(_dir, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        return path;
    }

    private static (int Exit, string Output) Eval(IReadOnlyList<string> data, string query, string? input = null, string format = "json", bool fail = false, bool strict = false)
    {
        var output = new StringWriter();
        var exit = EvalCommand.Execute(new EvalCommand.EvalRequest(data, input, format, strict, fail, query), output);
        return (exit, output.ToString());
    }

    [Test]
    public void Decision_of_the_shipped_library_for_an_allowed_read()
    {
        var input = Write("input.json", """
            {
              "workload": {"spiffe_id": "spiffe://example.org/agent/x"},
              "tool": {"server": "secure-filesystem-server", "name": "read_text_file",
                       "arguments": {"path": "/tmp/policypoint-demo/workspace/notes.txt"},
                       "annotations": {"readOnlyHint": "true"}},
              "session": {"session_id": "s1", "history": []},
              "request": {"time_ns": 1767225600000000000}
            }
            """);

        var (exit, output) = Eval([CliTestSupport.RegoDir], "data.policypoint.mcp.decision", input);

        Assert.That(exit, Is.EqualTo(0), output);
        var expression = JsonNode.Parse(output)!["result"]![0]!["expressions"]![0]!;
        Assert.That(expression["text"]!.GetValue<string>(), Is.EqualTo("data.policypoint.mcp.decision"));
        Assert.That(expression["location"]!.ToJsonString(), Is.EqualTo("""{"row":1,"col":1}"""));
        var decision = expression["value"]!;
        Assert.That(decision["allow"]!.GetValue<bool>(), Is.True);
        Assert.That(decision["require_approval"]!.GetValue<bool>(), Is.False);
        Assert.That(decision["reasons"]![0]!["code"]!.GetValue<string>(), Is.EqualTo("granted"));
        Assert.That(decision["exception"], Is.Null);
    }

    [Test]
    public void Decision_of_the_shipped_library_for_a_second_identity_is_a_deny_with_reason()
    {
        var input = Write("input.yaml", """
            workload: {spiffe_id: "spiffe://example.org/agent/y"}
            tool: {server: filesystem, name: write_file, arguments: {path: /tmp/policypoint-demo/workspace/x.txt}}
            request: {time_ns: 1767225600000000000}
            """);
        var (exit, output) = Eval([CliTestSupport.RegoDir], "data.policypoint.mcp.decision", input);
        Assert.That(exit, Is.EqualTo(0), output);
        var decision = JsonNode.Parse(output)!["result"]![0]!["expressions"]![0]!["value"]!;
        Assert.That(decision["allow"]!.GetValue<bool>(), Is.False);
        Assert.That(decision["reasons"]![0]!["code"]!.GetValue<string>(), Is.EqualTo("no_grant"));
    }

    [Test]
    public void Bindings_are_reported_per_result()
    {
        Write("p.rego", "package p\n\nxs := [1, 2]\n");
        var (exit, output) = Eval([_dir], "some x in data.p.xs");
        Assert.That(exit, Is.EqualTo(0), output);
        var result = JsonNode.Parse(output)!["result"]!.AsArray();
        Assert.That(result.Select(r => r!["bindings"]!["x"]!.GetValue<int>()), Is.EqualTo(new[] { 1, 2 }));
        Assert.That(result[0]!["expressions"]![0]!["text"]!.GetValue<string>(), Is.EqualTo("some x in data.p.xs"));
    }

    [Test]
    public void Undefined_prints_an_empty_object_and_fail_turns_it_into_exit_1()
    {
        Write("p.rego", "package p\n\nallow if input.user == \"alice\"\n");
        var (exit, output) = Eval([_dir], "data.p.allow");
        Assert.That(exit, Is.EqualTo(0));
        Assert.That(output.Trim(), Is.EqualTo("{}"));

        var (failExit, _) = Eval([_dir], "data.p.allow", fail: true);
        Assert.That(failExit, Is.EqualTo(1));
    }

    [Test]
    public void Data_files_are_placed_by_folder()
    {
        Write("a/b/data.json", "{\"k\": 7}");
        var (exit, output) = Eval([_dir], "data.a.b.k");
        Assert.That(exit, Is.EqualTo(0), output);
        Assert.That(JsonNode.Parse(output)!["result"]![0]!["expressions"]![0]!["value"]!.GetValue<int>(), Is.EqualTo(7));
    }

    [Test]
    public void Query_parse_error_is_reported_in_opa_shape()
    {
        var (exit, output) = Eval([], "data.p[");
        Assert.That(exit, Is.EqualTo(1));
        var error = JsonNode.Parse(output)!["errors"]![0]!;
        Assert.That(error["code"]!.GetValue<string>(), Is.EqualTo("rego_parse_error"));
        Assert.That(error["message"]!.GetValue<string>(), Is.Not.Empty);
    }

    [Test]
    public void Module_compile_error_names_file_row_and_col()
    {
        var file = Write("bad.rego", "package bad\n\nallow if {\n\tx == 1\n}\n");
        var (exit, output) = Eval([file], "data.bad.allow");
        Assert.That(exit, Is.EqualTo(1), output);
        var error = JsonNode.Parse(output)!["errors"]![0]!;
        Assert.That(error["code"]!.GetValue<string>(), Is.EqualTo("rego_unsafe_var_error"));
        Assert.That(error["location"]!["file"]!.GetValue<string>(), Does.EndWith("bad.rego"));
        Assert.That(error["location"]!["row"]!.GetValue<int>(), Is.EqualTo(4));
    }

    [Test]
    public void Load_errors_are_reported_in_opa_shape()
    {
        var (exit, output) = Eval([Path.Combine(_dir, "missing")], "true");
        Assert.That(exit, Is.EqualTo(1));
        var error = JsonNode.Parse(output)!["errors"]![0]!;
        Assert.That(error["code"]!.GetValue<string>(), Is.EqualTo("load_error"));
        Assert.That(error["message"]!.GetValue<string>(), Is.EqualTo("no such file or directory"));
        Assert.That(error["location"]!.ToJsonString(), Does.Not.Contain("row"), "a load error has no position");

        var badInput = Write("input.json", "{\"a\": ");
        var (inputExit, inputOutput) = Eval([], "input.a", badInput);
        Assert.That(inputExit, Is.EqualTo(1));
        Assert.That(inputOutput, Does.Contain("invalid JSON"));
    }

    [Test]
    public void Strict_builtin_errors_turn_undefined_into_an_error()
    {
        var (lenientExit, lenient) = Eval([], "x := to_number(\"abc\")");
        Assert.That(lenientExit, Is.EqualTo(0));
        Assert.That(lenient.Trim(), Is.EqualTo("{}"));

        var (strictExit, strict) = Eval([], "x := to_number(\"abc\")", strict: true);
        Assert.That(strictExit, Is.EqualTo(1));
        Assert.That(JsonNode.Parse(strict)!["errors"]![0]!["code"]!.GetValue<string>(), Is.EqualTo("eval_builtin_error"));
    }

    [Test]
    public void Pretty_format_prints_a_lone_value_or_a_table()
    {
        var (exit, output) = Eval([], "[1, 2]", format: "pretty");
        Assert.That(exit, Is.EqualTo(0));
        Assert.That(JsonNode.Parse(output)!.ToJsonString(), Is.EqualTo("[1,2]"));

        var (tableExit, table) = Eval([], "some x in [\"a\", \"b\"]; y := upper(x)", format: "pretty");
        Assert.That(tableExit, Is.EqualTo(0));
        Assert.That(table.Split('\n')[1].Trim(), Is.EqualTo("| x   | y   |"), table);
        Assert.That(table, Does.Contain("| \"a\" | \"A\" |").And.Contain("| \"b\" | \"B\" |"));

        var (undefinedExit, undefined) = Eval([], "1 == 2", format: "pretty");
        Assert.That(undefinedExit, Is.EqualTo(0));
        Assert.That(undefined.Trim(), Is.EqualTo("undefined"));
    }
}
