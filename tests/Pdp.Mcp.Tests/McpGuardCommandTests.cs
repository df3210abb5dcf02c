using System.Diagnostics;
using Pdp.Mcp.Tests.Infrastructure;

namespace Pdp.Mcp.Tests;

/// <summary>The <c>pdp mcp-guard</c> command line as a user runs it: usage errors and the child's exit code.</summary>
public sealed class McpGuardCommandTests
{
    private static async Task<(int Code, string Stdout, string Stderr)> Pdp(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        start.ArgumentList.Add(E2eEnvironment.BuiltDll("Pdp", "pdp.dll"));
        foreach (var a in args) start.ArgumentList.Add(a);
        using var p = Process.Start(start)!;
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return (p.ExitCode, await stdout, await stderr);
    }

    [Test]
    public async Task Identity_must_be_a_spiffe_id()
    {
        var (code, stdout, stderr) = await Pdp("mcp-guard", "--identity", "agent-x", "--", "true");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("SPIFFE ID"));
        Assert.That(stdout, Is.Empty, "stdout is reserved for MCP");
    }

    [Test]
    public async Task Identity_is_required()
    {
        var (code, _, stderr) = await Pdp("mcp-guard", "--", "true");
        Assert.That(code, Is.Not.EqualTo(0));
        Assert.That(stderr, Does.Contain("--identity"));
    }

    [Test]
    public async Task Unknown_server_command_exits_127()
    {
        var (code, stdout, stderr) = await Pdp("mcp-guard", "--identity", "spiffe://example.org/agent/x", "--", "/nonexistent/mcp-server");
        Assert.That(code, Is.EqualTo(127));
        Assert.That(stderr, Does.Contain("/nonexistent/mcp-server"));
        Assert.That(stdout, Is.Empty);
    }

    [Test]
    public async Task Guard_exits_with_the_childs_exit_code()
    {
        var (code, stdout, _) = await Pdp("mcp-guard", "--identity", "spiffe://example.org/agent/x", "--pdp", "http://127.0.0.1:1", "--", "sh", "-c", "exit 7");
        Assert.That(code, Is.EqualTo(7));
        Assert.That(stdout, Is.Empty);
    }
}
