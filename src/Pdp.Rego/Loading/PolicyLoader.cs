using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Pdp.Rego.Values;

namespace Pdp.Rego.Loading;

/// <summary>
/// Loads Rego policies and data as <c>opa eval -d</c> and OPA bundles do.
/// <list type="bullet">
/// <item><c>*.rego</c> files (including <c>*_test.rego</c>) become modules.</item>
/// <item><c>data.json</c>, <c>data.yaml</c> and <c>data.yml</c> files are merged into <c>data</c> at the path of
/// their folder relative to the root (<c>root/a/b/data.json</c> → <c>data.a.b</c>); two files that set the same
/// value are a conflict. Other files are ignored, as are folders whose name starts with a dot.</item>
/// <item>A <c>.manifest</c> at the root (JSON: <c>revision</c>, <c>roots</c>, <c>metadata</c>) gives the revision
/// and the data paths the bundle may write; without one the revision is the content hash.</item>
/// </list>
/// Every failure is a <see cref="PolicyLoadException"/> naming the file and the reason; no other exception escapes.
/// Loading does not compile: Rego syntax errors surface from <see cref="RegoCompiler.Compile"/>.
/// </summary>
public static partial class PolicyLoader
{
    private const string ManifestName = ".manifest";
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// Loads one path: a directory (as a bundle directory), an OPA bundle <c>.tar.gz</c>/<c>.tgz</c>, a
    /// <c>.rego</c> file, or a JSON/YAML data file (merged at the root of <c>data</c>). Module paths are relative
    /// to the directory or bundle root.
    /// </summary>
    /// <exception cref="PolicyLoadException">The path is missing or any file in it is bad.</exception>
    public static PolicyBundle Load(string path, PolicyLoadOptions? options = null)
    {
        options ??= PolicyLoadOptions.Default;
        if (IsTarGz(path) && File.Exists(path)) return LoadBundleTarGz(path, options);
        if (Directory.Exists(path)) return LoadDirectory(path, options);
        return LoadPaths([path], options);
    }

    /// <summary>
    /// Loads a bundle directory: every file below <paramref name="directory"/>, module paths relative to it
    /// (forward slashes), and its <c>.manifest</c> if present.
    /// </summary>
    /// <exception cref="PolicyLoadException">The directory is missing or any file in it is bad.</exception>
    public static PolicyBundle LoadDirectory(string directory, PolicyLoadOptions? options = null)
    {
        options ??= PolicyLoadOptions.Default;
        var errors = new List<PolicyLoadError>();
        var files = new List<SourceFile>();
        ReadDirectory(directory, "", files, errors, options);
        return Assemble(files, errors, options);
    }

    /// <summary>
    /// Loads several paths as <c>opa eval -d A -d B</c> does: directories are walked (data placed by folder
    /// relative to each directory), single <c>.rego</c> files are modules, single <c>.json</c>/<c>.yaml</c>/<c>.yml</c>
    /// files are data merged at the root, <c>.tar.gz</c> files are bundles. Module paths are the paths as given
    /// joined with the path inside the directory, so that two directories with equally named files stay apart.
    /// </summary>
    /// <exception cref="PolicyLoadException">A path is missing or any file is bad; every problem is reported.</exception>
    public static PolicyBundle LoadPaths(IEnumerable<string> paths, PolicyLoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(paths);
        options ??= PolicyLoadOptions.Default;
        var errors = new List<PolicyLoadError>();
        var files = new List<SourceFile>();
        foreach (var path in paths)
        {
            if (string.IsNullOrWhiteSpace(path)) { errors.Add(new(path ?? "", "empty path")); continue; }
            var display = path.Replace('\\', '/').TrimEnd('/');
            if (display.Length == 0) display = "/";
            if (Directory.Exists(path))
                ReadDirectory(path, display, files, errors, options);
            else if (File.Exists(path) && IsTarGz(path))
                ReadTarGz(path, files, errors, options, display);
            else if (File.Exists(path))
            {
                var kind = KindOfLooseFile(path);
                if (kind == FileKind.Ignored) { errors.Add(new(path, "not a .rego, .json, .yaml, .yml or .tar.gz file")); continue; }
                if (ReadAllBytes(path, path, errors, options) is { } bytes)
                    files.Add(new SourceFile(display, display, kind, [], bytes));
            }
            else errors.Add(new(path, "no such file or directory"));
        }
        return Assemble(files, errors, options);
    }

    /// <summary>
    /// Loads an OPA bundle archive (gzip-compressed tar): <c>.manifest</c>, <c>*.rego</c> and data files as in a
    /// bundle directory. Entry names may start with <c>/</c> or <c>./</c>; an entry with a <c>..</c> segment, a
    /// duplicate entry, or one above the size limits is an error. Links and other special entries are ignored.
    /// </summary>
    /// <exception cref="PolicyLoadException">The archive is missing, not gzip/tar, or holds a bad file.</exception>
    public static PolicyBundle LoadBundleTarGz(string path, PolicyLoadOptions? options = null)
    {
        options ??= PolicyLoadOptions.Default;
        var errors = new List<PolicyLoadError>();
        var files = new List<SourceFile>();
        if (!File.Exists(path)) errors.Add(new(path, "no such file"));
        else ReadTarGz(path, files, errors, options, null);
        return Assemble(files, errors, options);
    }

    /// <summary>
    /// Reads one JSON or YAML document (by extension: <c>.yaml</c>/<c>.yml</c> are YAML, anything else JSON), e.g. an
    /// input document for <c>pdp eval -i</c>. YAML is resolved as in data files.
    /// </summary>
    /// <exception cref="PolicyLoadException">The file is missing, unreadable, too large, or not valid JSON/YAML.</exception>
    public static Value ReadValueFile(string path, PolicyLoadOptions? options = null)
    {
        options ??= PolicyLoadOptions.Default;
        var errors = new List<PolicyLoadError>();
        if (!File.Exists(path)) throw new PolicyLoadException(path, "no such file");
        var bytes = ReadAllBytes(path, path, errors, options);
        if (bytes is not null)
        {
            var value = ParseData(new SourceFile(path, path, FileKind.Data, [], bytes), IsYaml(path), errors, options);
            if (value is not null && errors.Count == 0) return value;
        }
        throw new PolicyLoadException(errors);
    }

    /// <summary>
    /// The content hash of a set of files: <c>sha256:</c> + hex of SHA-256 over, for each file in ordinal order of
    /// its path, the UTF-8 path, a zero byte, the content length as 8 bytes little-endian, and the content.
    /// </summary>
    public static string ContentHash(IEnumerable<(string Path, byte[] Content)> files)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> length = stackalloc byte[8];
        foreach (var (p, content) in files.OrderBy(f => f.Path, StringComparer.Ordinal))
        {
            sha.AppendData(Encoding.UTF8.GetBytes(p));
            sha.AppendData([0]);
            BitConverter.TryWriteBytes(length, (long)content.Length);
            if (!BitConverter.IsLittleEndian) length.Reverse();
            sha.AppendData(length);
            sha.AppendData(content);
        }
        return "sha256:" + Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    // ------------------------------------------------------------------ reading

    private enum FileKind { Ignored, Module, Data, Manifest }

    /// <param name="Path">Where the file lives, for module paths and messages.</param>
    /// <param name="HashPath">The path that enters the content hash (relative to the root).</param>
    /// <param name="Kind">Module, data or manifest.</param>
    /// <param name="DataPath">For data files: the folder's path under <c>data</c>.</param>
    /// <param name="Content">The file's bytes.</param>
    private sealed record SourceFile(string Path, string HashPath, FileKind Kind, string[] DataPath, byte[] Content);

    private static bool IsTarGz(string path) =>
        path.EndsWith(".tar.gz", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".tgz", StringComparison.OrdinalIgnoreCase);

    private static FileKind KindInBundle(string relativePath)
    {
        if (relativePath == ManifestName) return FileKind.Manifest;
        var name = relativePath[(relativePath.LastIndexOf('/') + 1)..];
        if (name.EndsWith(".rego", StringComparison.Ordinal)) return FileKind.Module;
        if (name is "data.json" or "data.yaml" or "data.yml") return FileKind.Data;
        return FileKind.Ignored;
    }

    private static FileKind KindOfLooseFile(string path)
    {
        if (path.EndsWith(".rego", StringComparison.Ordinal)) return FileKind.Module;
        if (path.EndsWith(".json", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase)
            || path.EndsWith(".yml", StringComparison.OrdinalIgnoreCase)) return FileKind.Data;
        return FileKind.Ignored;
    }

    private static void ReadDirectory(string directory, string displayRoot, List<SourceFile> files, List<PolicyLoadError> errors, PolicyLoadOptions options)
    {
        if (!Directory.Exists(directory)) { errors.Add(new(directory, "no such directory")); return; }
        var root = Path.GetFullPath(directory);
        IEnumerable<string> entries;
        try
        {
            // Hidden files are included (the manifest is one); recursion is bounded against link loops.
            var enumeration = new EnumerationOptions
            {
                RecurseSubdirectories = true, AttributesToSkip = 0, IgnoreInaccessible = false, MaxRecursionDepth = 64,
            };
            entries = Directory.EnumerateFiles(root, "*", enumeration).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.SecurityException)
        {
            errors.Add(new(directory, $"cannot list the directory: {e.Message}"));
            return;
        }
        foreach (var full in entries.Order(StringComparer.Ordinal))
        {
            var rel = Path.GetRelativePath(root, full).Replace('\\', '/');
            var segments = rel.Split('/');
            if (segments[..^1].Any(s => s.StartsWith('.'))) continue; // .git and friends
            var kind = KindInBundle(rel);
            if (kind == FileKind.Ignored) continue;
            var display = displayRoot.Length == 0 ? rel : displayRoot == "/" ? "/" + rel : displayRoot + "/" + rel;
            if (ReadAllBytes(full, display, errors, options) is { } bytes)
                files.Add(new SourceFile(display, rel, kind, segments[..^1], bytes));
        }
    }

    private static byte[]? ReadAllBytes(string path, string display, List<PolicyLoadError> errors, PolicyLoadOptions options)
    {
        try
        {
            var info = new FileInfo(path);
            if (info.Length > options.MaxFileBytes)
            {
                errors.Add(new(display, $"file is {info.Length} bytes, above the limit of {options.MaxFileBytes}"));
                return null;
            }
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.SecurityException)
        {
            errors.Add(new(display, $"cannot read the file: {e.Message}"));
            return null;
        }
    }

    private static void ReadTarGz(string path, List<SourceFile> files, List<PolicyLoadError> errors, PolicyLoadOptions options, string? displayPrefix)
    {
        long total = 0;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            using var file = File.OpenRead(path);
            using var gzip = new GZipStream(file, CompressionMode.Decompress);
            using var tar = new TarReader(gzip);
            while (tar.GetNextEntry() is { } entry)
            {
                if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile)) continue;
                var name = entry.Name.Replace('\\', '/');
                while (name.StartsWith("./", StringComparison.Ordinal)) name = name[2..];
                name = name.TrimStart('/');
                var where = $"{path}#{name}";
                var segments = name.Split('/', StringSplitOptions.RemoveEmptyEntries);
                if (segments.Length == 0) continue;
                if (segments.Any(s => s is ".." or "."))
                {
                    errors.Add(new(where, "entry path has a '.' or '..' segment"));
                    continue;
                }
                name = string.Join('/', segments);
                var kind = KindInBundle(name);
                if (kind == FileKind.Ignored) continue;
                if (!seen.Add(name)) { errors.Add(new(where, "duplicate entry in the archive")); continue; }
                if (entry.Length > options.MaxFileBytes)
                {
                    errors.Add(new(where, $"entry is {entry.Length} bytes, above the limit of {options.MaxFileBytes}"));
                    continue;
                }
                total += entry.Length;
                if (total > options.MaxTotalBytes)
                {
                    errors.Add(new(path, $"bundle content exceeds the limit of {options.MaxTotalBytes} bytes"));
                    return;
                }
                var content = new byte[entry.Length];
                if (entry.DataStream is { } data) data.ReadExactly(content);
                var display = displayPrefix is null ? name : $"{displayPrefix}#{name}";
                files.Add(new SourceFile(display, name, kind, segments[..^1], content));
            }
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException or IOException
                                       or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            errors.Add(new(path, $"not a readable gzip-compressed tar archive: {e.Message}"));
        }
    }

    // ------------------------------------------------------------------ assembling

    private static PolicyBundle Assemble(List<SourceFile> files, List<PolicyLoadError> errors, PolicyLoadOptions options)
    {
        long total = files.Sum(f => (long)f.Content.Length);
        if (total > options.MaxTotalBytes) errors.Add(new("(bundle)", $"content is {total} bytes, above the limit of {options.MaxTotalBytes}"));

        var modules = new List<RegoModuleSource>();
        var data = new DataTree();
        BundleManifest? manifest = null;
        var seenModules = new HashSet<string>(StringComparer.Ordinal);

        foreach (var f in files.OrderBy(f => f.Path, StringComparer.Ordinal))
        {
            switch (f.Kind)
            {
                case FileKind.Module:
                    if (Decode(f, errors) is not { } text) break;
                    if (!seenModules.Add(f.Path)) { errors.Add(new(f.Path, "the same module path is loaded twice")); break; }
                    modules.Add(new RegoModuleSource(f.Path, text));
                    break;
                case FileKind.Data:
                    if (ParseData(f, IsYaml(f.Path), errors, options) is not { } value) break;
                    if (f.DataPath.Length == 0 && value is not ObjectValue)
                    {
                        errors.Add(new(f.Path, $"a data file at the root must hold an object, not {value.TypeName}"));
                        break;
                    }
                    if (data.Insert(f.DataPath, value, f.Path) is { } conflict) errors.Add(new(f.Path, conflict));
                    break;
                case FileKind.Manifest:
                    if (manifest is not null) { errors.Add(new(f.Path, "more than one .manifest")); break; }
                    manifest = ParseManifest(f, errors);
                    break;
            }
        }

        var dataValue = (ObjectValue)data.Build();
        if (manifest is not null) CheckRoots(manifest, modules, dataValue, errors);
        if (errors.Count > 0) throw new PolicyLoadException(errors);

        var hash = ContentHash(files.Select(f => (f.HashPath, f.Content)));
        var revision = manifest is { Revision.Length: > 0 } ? manifest.Revision : hash;
        return new PolicyBundle(modules, dataValue, revision, hash, manifest,
            files.Select(f => f.Path).Order(StringComparer.Ordinal).ToList());
    }

    private static string? Decode(SourceFile f, List<PolicyLoadError> errors)
    {
        try
        {
            var text = StrictUtf8.GetString(f.Content);
            return text.Length > 0 && text[0] == '\uFEFF' ? text[1..] : text;
        }
        catch (DecoderFallbackException)
        {
            errors.Add(new(f.Path, "not valid UTF-8"));
            return null;
        }
    }

    private static bool IsYaml(string path) =>
        path.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".yml", StringComparison.OrdinalIgnoreCase);

    private static Value? ParseData(SourceFile f, bool yaml, List<PolicyLoadError> errors, PolicyLoadOptions options)
    {
        if (Decode(f, errors) is not { } text) return null;
        try
        {
            if (yaml) return YamlData.Parse(text, options.MaxDataDepth);
            return text.Trim().Length == 0 ? ObjectValue.Empty : Value.FromJson(text);
        }
        catch (System.Text.Json.JsonException e)
        {
            var at = e.LineNumber is { } line ? $" at line {line + 1}, column {(e.BytePositionInLine ?? 0) + 1}" : "";
            errors.Add(new(f.Path, $"invalid JSON{at}: {FirstSentence(e.Message)}"));
        }
        catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException or OverflowException)
        {
            errors.Add(new(f.Path, e.Message));
        }
        return null;
    }

    // System.Text.Json appends "Path: $ | LineNumber: ..." to its messages; the location is reported separately.
    private static string FirstSentence(string message)
    {
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        return cut > 0 ? message[..cut] : message;
    }

    private static BundleManifest? ParseManifest(SourceFile f, List<PolicyLoadError> errors)
    {
        if (Decode(f, errors) is not { } text) return null;
        Value parsed;
        try { parsed = Value.FromJson(text); }
        catch (Exception e) when (e is System.Text.Json.JsonException or FormatException)
        {
            errors.Add(new(f.Path, $"the manifest is not valid JSON: {FirstSentence(e.Message)}"));
            return null;
        }
        if (parsed is not ObjectValue obj) { errors.Add(new(f.Path, "the manifest must be a JSON object")); return null; }

        string revision = "";
        switch (obj["revision"])
        {
            case null or NullValue: break;
            case StringValue s: revision = s.Value; break;
            default: errors.Add(new(f.Path, "manifest revision must be a string")); return null;
        }

        var roots = new List<string>();
        switch (obj["roots"])
        {
            case null or NullValue: roots.Add(""); break;
            case ArrayValue arr:
                foreach (var r in arr.Items)
                {
                    if (r is not StringValue rs) { errors.Add(new(f.Path, "manifest roots must be strings")); return null; }
                    roots.Add(rs.Value.Trim('/'));
                }
                break;
            default: errors.Add(new(f.Path, "manifest roots must be an array of strings")); return null;
        }
        for (int i = 0; i < roots.Count; i++)
            for (int j = i + 1; j < roots.Count; j++)
                if (PathWithin(roots[i], roots[j]) || PathWithin(roots[j], roots[i]))
                    errors.Add(new(f.Path, $"manifest roots overlap: \"{roots[i]}\" and \"{roots[j]}\""));

        var metadata = obj["metadata"] switch
        {
            null or NullValue => ObjectValue.Empty,
            ObjectValue m => m,
            _ => null,
        };
        if (metadata is null) { errors.Add(new(f.Path, "manifest metadata must be an object")); return null; }
        return new BundleManifest(revision, roots, metadata);
    }

    // "a/b" lies within root "a" (and within "" = everything); "ab" does not lie within "a".
    private static bool PathWithin(string path, string root) =>
        root.Length == 0 || path == root || path.StartsWith(root + "/", StringComparison.Ordinal);

    private static void CheckRoots(BundleManifest manifest, List<RegoModuleSource> modules, ObjectValue data, List<PolicyLoadError> errors)
    {
        foreach (var m in modules)
        {
            if (PackagePath(m.Text) is not { } pkg) continue; // the compiler reports a missing package
            if (!manifest.Roots.Any(r => PathWithin(pkg, r)))
                errors.Add(new(m.Path, $"package {pkg.Replace('/', '.')} is outside the manifest roots [{string.Join(", ", manifest.Roots)}]"));
        }
        CheckDataRoots(manifest.Roots, "", data, errors);
    }

    private static void CheckDataRoots(IReadOnlyList<string> roots, string path, Value value, List<PolicyLoadError> errors)
    {
        if (roots.Any(r => PathWithin(path, r))) return;
        // Above every root: fine only as a container on the way down to a root.
        if (value is ObjectValue obj && roots.Any(r => PathWithin(r, path)))
        {
            foreach (var (k, v) in obj.Entries)
            {
                var key = k is StringValue s ? s.Value : k.ToString();
                CheckDataRoots(roots, path.Length == 0 ? key : path + "/" + key, v, errors);
            }
            return;
        }
        errors.Add(new("data", $"data.{path.Replace('/', '.')} is outside the manifest roots [{string.Join(", ", roots)}]"));
    }

    /// <summary>The package of a module as a slash-separated path (<c>policypoint/mcp</c>), read without parsing
    /// the whole module; null when no package line is found.</summary>
    internal static string? PackagePath(string text)
    {
        var m = PackageLine().Match(text);
        if (!m.Success) return null;
        var parts = new List<string>();
        foreach (Match part in PackagePart().Matches(m.Groups[1].Value))
            parts.Add(part.Groups[1].Success ? part.Groups[1].Value : part.Groups[2].Value);
        return parts.Count == 0 ? null : string.Join('/', parts);
    }

    [GeneratedRegex(@"^[ \t]*package[ \t]+([^\s#]+)", RegexOptions.Multiline)]
    private static partial Regex PackageLine();

    [GeneratedRegex(@"\[""([^""]*)""\]|([A-Za-z_][A-Za-z0-9_]*)")]
    private static partial Regex PackagePart();

    /// <summary>A mutable tree that merges data files and reports the first conflict per file.</summary>
    private sealed class DataTree
    {
        private sealed class Node
        {
            public SortedDictionary<string, Node>? Children;
            public Value? Leaf;
            public string Source = "";
        }

        private readonly Node _root = new() { Children = new(StringComparer.Ordinal) };

        /// <summary>Merges <paramref name="value"/> at <paramref name="path"/>; returns a conflict message or null.</summary>
        public string? Insert(string[] path, Value value, string source)
        {
            var node = _root;
            var walked = new List<string>();
            foreach (var segment in path)
            {
                walked.Add(segment);
                if (node.Leaf is not null) return Conflict(walked.SkipLast(1), node.Source);
                node.Children ??= new(StringComparer.Ordinal);
                if (!node.Children.TryGetValue(segment, out var child))
                {
                    child = new Node { Source = source };
                    node.Children[segment] = child;
                }
                node = child;
            }
            return Merge(node, value, source, walked);
        }

        private static string? Merge(Node node, Value value, string source, List<string> path)
        {
            if (value is ObjectValue obj)
            {
                if (node.Leaf is not null) return Conflict(path, node.Source);
                node.Children ??= new(StringComparer.Ordinal);
                foreach (var (k, v) in obj.Entries)
                {
                    var key = k is StringValue s ? s.Value : k.ToString();
                    if (!node.Children.TryGetValue(key, out var child))
                    {
                        child = new Node { Source = source };
                        node.Children[key] = child;
                    }
                    path.Add(key);
                    var conflict = Merge(child, v, source, path);
                    path.RemoveAt(path.Count - 1);
                    if (conflict is not null) return conflict;
                }
                return null;
            }
            if (node.Leaf is not null || node.Children is not null) return Conflict(path, node.Source);
            node.Leaf = value;
            node.Source = source;
            return null;
        }

        private static string Conflict(IEnumerable<string> path, string other)
        {
            var p = string.Join(".", path);
            return $"data conflict at data{(p.Length == 0 ? "" : "." + p)}: also set by {other}";
        }

        public Value Build() => Build(_root);

        private static Value Build(Node node)
        {
            if (node.Leaf is not null) return node.Leaf;
            if (node.Children is null || node.Children.Count == 0) return ObjectValue.Empty;
            var b = new ObjectValue.Builder(node.Children.Count);
            foreach (var (k, child) in node.Children) b.Set(k, Build(child));
            return b.Build();
        }
    }
}
