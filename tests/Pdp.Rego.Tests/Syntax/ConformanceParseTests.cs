using Pdp.Rego.Syntax;
using Pdp.Rego.Tests.Conformance;

namespace Pdp.Rego.Tests.Syntax;

/// <summary>
/// Parses every module, query and input_term of every OPA conformance case: all must parse unless the case
/// expects rego_parse_error, in which case at least one of its modules or its query must fail to parse.
/// </summary>
[TestFixture]
public class ConformanceParseTests
{
    [Test]
    public void EveryConformanceCaseParsesAsOpaDoes()
    {
        var root = RepoPaths.ConformanceRoot;
        if (!Directory.Exists(root)) Assert.Ignore($"no conformance cases at {root}");

        int modules = 0, queries = 0, parsedOk = 0, expectedFailures = 0, failedAsExpected = 0;
        var problems = new List<string>();
        foreach (var dir in Directory.GetDirectories(root).OrderBy(d => d, StringComparer.Ordinal))
        {
            var folder = Path.GetFileName(dir);
            foreach (var file in Directory.GetFiles(dir).Where(f => f.EndsWith(".yaml") || f.EndsWith(".yml")).Order())
            {
                foreach (var c in ConformanceCase.Load(folder, file))
                {
                    bool wantParseError = c.WantErrorCode == "rego_parse_error";
                    var errors = new List<string>();
                    for (int i = 0; i < c.Modules.Count; i++)
                    {
                        modules++;
                        try { RegoParser.ParseModule($"test-{i}.rego", c.Modules[i]); }
                        catch (RegoException ex) { errors.Add(ex.Message); }
                    }
                    queries++;
                    try { RegoParser.ParseQuery(c.Query); }
                    catch (RegoException ex) { errors.Add("query: " + ex.Message); }
                    if (c.InputTerm is { } it)
                    {
                        try { RegoParser.ParseTerm(it, "input_term"); }
                        catch (RegoException ex) { errors.Add("input_term: " + ex.Message); }
                    }

                    if (wantParseError)
                    {
                        expectedFailures++;
                        if (errors.Count > 0) failedAsExpected++;
                        else problems.Add($"{c.Note}: expected rego_parse_error, parsed fine");
                    }
                    else if (errors.Count == 0) parsedOk++;
                    else problems.Add($"{c.Note}: {string.Join(" | ", errors)}");
                }
            }
        }

        TestContext.Out.WriteLine($"{modules} modules, {queries} queries; {parsedOk} cases parsed, " +
                                  $"{failedAsExpected}/{expectedFailures} expected parse errors raised; {problems.Count} problems");
        foreach (var p in problems) TestContext.Out.WriteLine(p);
        Assert.That(problems, Is.Empty);
    }
}

/// <summary>The product's own policies (rego/**.rego, including their tests) must parse.</summary>
[TestFixture]
public class RepositoryPoliciesParseTests
{
    [Test]
    public void EveryRegoFileInTheRepositoryParses()
    {
        var dir = Path.Combine(RepoPaths.Root, "rego");
        if (!Directory.Exists(dir)) Assert.Ignore("no rego/ folder");
        var files = Directory.GetFiles(dir, "*.rego", SearchOption.AllDirectories).Order().ToList();
        var failures = new List<string>();
        foreach (var f in files)
        {
            try { RegoParser.ParseModule(Path.GetRelativePath(RepoPaths.Root, f), File.ReadAllText(f)); }
            catch (RegoException ex) { failures.Add(ex.Message); }
        }
        TestContext.Out.WriteLine($"{files.Count} policy files, {failures.Count} failed");
        Assert.That(failures, Is.Empty);
    }
}
