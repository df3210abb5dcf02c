using System.Runtime.CompilerServices;

namespace Pdp.Rego.Tests;

/// <summary>Where the repository and the shared OPA conformance cases are, wherever the tests were built.</summary>
public static class RepoPaths
{
    /// <summary>The repository root (the folder holding PolicyPoint.sln). Env <c>POLICYPOINT_ROOT</c> overrides.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary><c>../shared/opa-conformance/v1</c> beside the repository; env <c>OPA_CONFORMANCE_DIR</c> overrides.</summary>
    public static string ConformanceRoot =>
        Environment.GetEnvironmentVariable("OPA_CONFORMANCE_DIR") is { Length: > 0 } d
            ? d
            : Path.GetFullPath(Path.Combine(Root, "..", "shared", "opa-conformance", "v1"));

    private static string FindRoot([CallerFilePath] string sourceFile = "")
    {
        if (Environment.GetEnvironmentVariable("POLICYPOINT_ROOT") is { Length: > 0 } env) return env;
        foreach (var start in new[] { AppContext.BaseDirectory, Path.GetDirectoryName(sourceFile) ?? "" })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "PolicyPoint.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException("cannot find the repository root (PolicyPoint.sln); set POLICYPOINT_ROOT");
    }
}
