using System.ComponentModel;
using ModelContextProtocol.Server;

namespace SampleMcpServer;

/// <summary>
/// File tools named like @modelcontextprotocol/server-filesystem's, so the same policy grants apply. Every path must
/// resolve inside the root folder given on the command line; PolicyPoint decides before any of these runs.
/// </summary>
[McpServerToolType]
public sealed class FileTools(SandboxRoot root)
{
    /// <summary>Reads a UTF-8 text file.</summary>
    [McpServerTool(Name = "read_text_file", ReadOnly = true, Idempotent = true, OpenWorld = false), Description("Read a UTF-8 text file.")]
    public string ReadTextFile([Description("Absolute path of the file.")] string path) => File.ReadAllText(root.Resolve(path));

    /// <summary>Creates or overwrites a text file.</summary>
    [McpServerTool(Name = "write_file", Destructive = true, Idempotent = true, OpenWorld = false), Description("Create or overwrite a text file.")]
    public string WriteFile([Description("Absolute path of the file.")] string path, [Description("New content.")] string content)
    {
        var full = root.Resolve(path);
        File.WriteAllText(full, content);
        return $"Successfully wrote to {path}";
    }

    /// <summary>Lists a directory, one entry per line with a [DIR] or [FILE] prefix.</summary>
    [McpServerTool(Name = "list_directory", ReadOnly = true, Idempotent = true, OpenWorld = false), Description("List a directory.")]
    public string ListDirectory([Description("Absolute path of the directory.")] string path)
    {
        var full = root.Resolve(path);
        var entries = Directory.EnumerateFileSystemEntries(full).Order(StringComparer.Ordinal)
            .Select(e => (Directory.Exists(e) ? "[DIR] " : "[FILE] ") + Path.GetFileName(e));
        return string.Join('\n', entries);
    }
}

/// <summary>The folder the tools may touch; a second, local line of defence behind the PDP.</summary>
public sealed class SandboxRoot
{
    /// <summary>Creates the sandbox; <paramref name="path"/> must be an existing directory.</summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    public SandboxRoot(string path)
    {
        var full = Path.GetFullPath(path);
        if (!Directory.Exists(full)) throw new DirectoryNotFoundException($"root folder '{full}' does not exist");
        Path_ = full.TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar;
    }

    private string Path_ { get; }

    /// <summary>The absolute path, or <see cref="UnauthorizedAccessException"/> when it escapes the root.</summary>
    public string Resolve(string path)
    {
        var full = Path.GetFullPath(path);
        if (!(full + Path.DirectorySeparatorChar).StartsWith(Path_, StringComparison.Ordinal))
            throw new UnauthorizedAccessException($"'{path}' is outside the served folder");
        return full;
    }
}
