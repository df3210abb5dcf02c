using Pdp.Rego.Values;

namespace Pdp.Rego.Loading;

/// <summary>
/// What <see cref="PolicyLoader"/> read: Rego modules (test modules included) and the merged base document
/// <c>data</c>, plus the bundle's identity.
/// </summary>
/// <param name="Modules">Every <c>.rego</c> file, ordered by path; <see cref="RegoModuleSource.Path"/> is the file's
/// path relative to its root (for <see cref="PolicyLoader.LoadPaths"/>: joined to the root as given).</param>
/// <param name="Data">The merged data files: always an object, empty when there were none.</param>
/// <param name="Revision">The manifest's <c>revision</c> when it has a non-empty one, else <see cref="ContentHash"/>.</param>
/// <param name="ContentHash"><c>sha256:</c> and 64 lower-case hex digits over every loaded file, sorted by path.</param>
/// <param name="Manifest">The bundle's <c>.manifest</c>, or null when there is none.</param>
/// <param name="Files">Paths of every loaded file (modules, data, manifest), sorted.</param>
public sealed record PolicyBundle(
    IReadOnlyList<RegoModuleSource> Modules,
    ObjectValue Data,
    string Revision,
    string ContentHash,
    BundleManifest? Manifest,
    IReadOnlyList<string> Files);

/// <summary>An OPA bundle's <c>.manifest</c>.</summary>
/// <param name="Revision">The bundle revision (empty when the manifest has none).</param>
/// <param name="Roots">The data paths the bundle owns, slash-separated (e.g. <c>policypoint</c>); <c>[""]</c>
/// (everything) when the manifest lists none.</param>
/// <param name="Metadata">The manifest's <c>metadata</c> object (empty when absent).</param>
public sealed record BundleManifest(string Revision, IReadOnlyList<string> Roots, ObjectValue Metadata);

/// <summary>One problem with one file of a policy bundle.</summary>
/// <param name="File">The file (or bundle entry) at fault.</param>
/// <param name="Reason">What is wrong, in a sentence.</param>
public sealed record PolicyLoadError(string File, string Reason)
{
    /// <summary><c>file: reason</c>.</summary>
    public override string ToString() => $"{File}: {Reason}";
}

/// <summary>
/// Thrown by <see cref="PolicyLoader"/> when a path cannot be loaded: missing, unreadable, not valid JSON/YAML,
/// a data conflict between files, a bad manifest, or data outside the manifest's roots. Carries every problem
/// found, not just the first.
/// </summary>
public sealed class PolicyLoadException : Exception
{
    /// <summary>Creates the exception from one or more errors.</summary>
    public PolicyLoadException(IReadOnlyList<PolicyLoadError> errors)
        : base(errors.Count == 1 ? errors[0].ToString() : $"{errors.Count} errors occurred while loading the policy:\n" + string.Join("\n", errors))
    {
        Errors = errors;
    }

    /// <summary>Creates the exception from one error.</summary>
    public PolicyLoadException(string file, string reason) : this([new PolicyLoadError(file, reason)]) { }

    /// <summary>Every problem found, in file order.</summary>
    public IReadOnlyList<PolicyLoadError> Errors { get; }
}

/// <summary>Limits that keep a hostile bundle from exhausting memory. Immutable.</summary>
public sealed record PolicyLoadOptions
{
    /// <summary>Largest single file accepted, in bytes (default 64 MiB).</summary>
    public long MaxFileBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>Largest total of all files, uncompressed, in bytes (default 256 MiB).</summary>
    public long MaxTotalBytes { get; init; } = 256L * 1024 * 1024;

    /// <summary>Deepest nesting accepted in a data file (default 512).</summary>
    public int MaxDataDepth { get; init; } = 512;

    /// <summary>Defaults.</summary>
    public static PolicyLoadOptions Default { get; } = new();
}
