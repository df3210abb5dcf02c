using System.Text.RegularExpressions;

namespace Pdp.Policy;

/// <summary>Parses and checks a decision entrypoint such as <c>data.policypoint.mcp.decision</c>.</summary>
public static partial class EntrypointPath
{
    /// <summary>The default entrypoint.</summary>
    public const string Default = "data.policypoint.mcp.decision";

    [GeneratedRegex(@"^data(\.[A-Za-z_][A-Za-z0-9_]*)+$")]
    private static partial Regex Pattern();

    /// <summary>
    /// Returns the path's segments after <c>data</c> (e.g. <c>["policypoint","mcp","decision"]</c>).
    /// Throws <see cref="ArgumentException"/> when it is not <c>data.</c> followed by dot-separated identifiers.
    /// </summary>
    public static IReadOnlyList<string> Parse(string entrypoint)
    {
        if (entrypoint is null || !Pattern().IsMatch(entrypoint))
            throw new ArgumentException($"entrypoint '{entrypoint}' must look like data.pkg.rule (identifiers separated by dots)");
        return entrypoint.Split('.')[1..];
    }
}
