using System.Text;

namespace Pdp.Rego.Tests.Conformance;

/// <summary>
/// OPA's conformance suite (../shared/opa-conformance/v1), run through the engine. Prints a per-folder table and
/// the line <c>N passed, N failed</c>; fails when a folder listed in passing-folders.txt has any failing case.
/// Environment: <c>CONFORMANCE_FOLDERS=a,b</c> restricts the run; <c>CONFORMANCE_VERBOSE=1</c> prints every failure.
/// </summary>
[TestFixture]
public sealed class ConformanceTests
{
    [Test]
    public void OpaConformanceSuite()
    {
        var root = RepoPaths.ConformanceRoot;
        Assert.That(Directory.Exists(root), Is.True, $"OPA conformance cases not found at {root} (set OPA_CONFORMANCE_DIR)");
        var only = Environment.GetEnvironmentVariable("CONFORMANCE_FOLDERS") is { Length: > 0 } f
            ? f.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet()
            : null;
        bool verbose = Environment.GetEnvironmentVariable("CONFORMANCE_VERBOSE") == "1";
        var required = PassingFolders();

        var outcomes = ConformanceRunner.LoadAll(root, only).Select(ConformanceRunner.Run).ToList();
        Assert.That(outcomes, Is.Not.Empty, "no conformance cases were loaded");

        var report = new StringBuilder();
        report.AppendLine($"{"folder",-32} {"passed",7} {"failed",7} {"skipped",8}");
        var regressions = new List<string>();
        foreach (var group in outcomes.GroupBy(o => o.Case.Folder))
        {
            int passed = group.Count(o => o.Passed), skipped = group.Count(o => o.Skipped), failed = group.Count() - passed - skipped;
            bool mustPass = required.Contains(group.Key);
            report.AppendLine($"{group.Key,-32} {passed,7} {failed,7} {skipped,8}{(mustPass ? "  (required)" : "")}");
            var failures = group.Where(o => !o.Passed && !o.Skipped).ToList();
            if (mustPass && failures.Count > 0) regressions.Add(group.Key);
            foreach (var o in failures.Take(verbose ? int.MaxValue : (mustPass ? 10 : 2)))
                report.AppendLine($"    FAIL {o.Case.Note} ({o.Case.File}): {o.Detail}");
        }
        int totalPassed = outcomes.Count(o => o.Passed), totalSkipped = outcomes.Count(o => o.Skipped);
        int totalFailed = outcomes.Count - totalPassed - totalSkipped;
        double rate = 100.0 * totalPassed / Math.Max(1, totalPassed + totalFailed);
        report.AppendLine($"conformance: {rate:F1}% of {totalPassed + totalFailed} cases pass ({totalSkipped} skipped by OPA)");
        report.AppendLine($"conformance: {totalPassed} passed, {totalFailed} failed");
        TestContext.Out.WriteLine(report.ToString());
        var reportPath = Path.Combine(Path.GetTempPath(), "policypoint-conformance-report.txt");
        File.WriteAllText(reportPath, report.ToString());
        TestContext.Out.WriteLine($"report written to {reportPath}");

        Assert.That(regressions, Is.Empty, "folders listed in Conformance/passing-folders.txt no longer pass fully");
    }

    /// <summary>The committed list of folders that pass fully (one per line, # comments).</summary>
    private static HashSet<string> PassingFolders()
    {
        var path = Path.Combine(RepoPaths.Root, "tests", "Pdp.Rego.Tests", "Conformance", "passing-folders.txt");
        if (!File.Exists(path)) return [];
        return File.ReadAllLines(path).Select(l => l.Split('#')[0].Trim()).Where(l => l.Length > 0).ToHashSet();
    }
}
