using System.Runtime.CompilerServices;

namespace Pdp.Tests.Cli;

/// <summary>Helpers for the <c>pdp eval</c> / <c>pdp test</c> tests: the repository's folders and scratch folders.</summary>
internal static class CliTestSupport
{
    /// <summary>The repository root (holding PolicyPoint.sln); env <c>POLICYPOINT_ROOT</c> overrides.</summary>
    public static string RepoRoot { get; } = FindRoot();

    /// <summary>The shipped MCP policy library, <c>rego/</c>.</summary>
    public static string RegoDir => Path.Combine(RepoRoot, "rego");

    /// <summary>A fresh empty folder under the temp directory.</summary>
    public static string NewTempDir(string prefix)
    {
        var dir = Path.Combine(Path.GetTempPath(), prefix + "-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>Copies a folder tree (files only, no links followed specially).</summary>
    public static void CopyTree(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target, overwrite: true);
        }
    }

    public static void DeleteQuietly(string dir)
    {
        try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private static string FindRoot([CallerFilePath] string sourceFile = "")
    {
        if (Environment.GetEnvironmentVariable("POLICYPOINT_ROOT") is { Length: > 0 } env) return env;
        foreach (var start in new[] { AppContext.BaseDirectory, Path.GetDirectoryName(sourceFile) ?? "" })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "PolicyPoint.sln"))) return dir.FullName;
        throw new InvalidOperationException("cannot find the repository root (PolicyPoint.sln); set POLICYPOINT_ROOT");
    }
}
