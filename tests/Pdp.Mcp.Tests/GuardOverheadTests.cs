using System.Diagnostics;
using System.IO.Pipelines;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Pdp.Client;
using Pdp.Client.McpGuard;
using Pdp.Mcp.Tests.Infrastructure;

namespace Pdp.Mcp.Tests;

/// <summary>
/// The guard's own cost per <c>tools/call</c>, without policy evaluation or the durable log: C# SDK client →
/// McpGuardProxy (in-process) → real server-filesystem, with an instant fake PDP, against the same client talking to
/// server-filesystem directly. Prints the numbers; asserts only that every call went through.
/// </summary>
[NonParallelizable]
public sealed class GuardOverheadTests
{
    [Test]
    public async Task Guard_overhead_per_tools_call_with_an_instant_pdp()
    {
        var e2eDir = Path.Combine(E2eEnvironment.RepoRoot, "tests", "e2e");
        var serverJs = Path.Combine(e2eDir, "node_modules", "@modelcontextprotocol", "server-filesystem", "dist", "index.js");
        if (!File.Exists(serverJs)) Assert.Fail("npm packages are missing: run `npm ci --prefix tests/e2e`.");
        var root = Path.Combine(Path.GetTempPath(), "pp-overhead-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(root);
        var file = Path.Combine(root, "a.txt");
        File.WriteAllText(file, "x");
        const int calls = 100;
        try
        {
            await using var pdp = await FakePdp.StartAsync();
            using var pdpClient = new PdpClient(new PdpClientOptions { Address = pdp.Address });

            // Direct.
            double[] direct;
            await using (var client = await McpClient.CreateAsync(new StdioClientTransport(new StdioClientTransportOptions { Command = "node", Arguments = [serverJs, root] })))
                direct = await Measure(client, file, calls);

            // Guarded: the guard runs in-process, its client side wired to the SDK client by pipes.
            var toGuard = new Pipe();
            var fromGuard = new Pipe();
            var guard = new McpGuardProxy(new McpGuardOptions { SpiffeId = "spiffe://example.org/agent/x", ReportOutcomes = false }, pdpClient);
            var run = guard.RunProcessAsync("node", [serverJs, root], toGuard.Reader.AsStream(), fromGuard.Writer.AsStream());
            double[] guarded;
            await using (var client = await McpClient.CreateAsync(new StreamClientTransport(toGuard.Writer.AsStream(), fromGuard.Reader.AsStream(), null)))
                guarded = await Measure(client, file, calls);
            await toGuard.Writer.CompleteAsync();
            await run.WaitAsync(TimeSpan.FromSeconds(15));

            Assert.That(pdp.Checks.Count(c => c.Tool.Name == "read_text_file"), Is.EqualTo(calls + 1), "every guarded call was checked");
            TestContext.Progress.WriteLine($"guard overhead, instant PDP: direct p50={P(direct, 0.5):F3}ms mean={direct.Average():F3}ms; " +
                $"guarded p50={P(guarded, 0.5):F3}ms mean={guarded.Average():F3}ms p95={P(guarded, 0.95):F3}ms; added p50={P(guarded, 0.5) - P(direct, 0.5):F3}ms");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static async Task<double[]> Measure(McpClient client, string file, int calls)
    {
        var args = new Dictionary<string, object?> { ["path"] = file };
        var warm = await client.CallToolAsync("read_text_file", args);
        Assert.That(warm.IsError, Is.Not.True, string.Join(" ", warm.Content.OfType<TextContentBlock>().Select(t => t.Text)));
        var ms = new double[calls];
        for (var i = 0; i < calls; i++)
        {
            var sw = Stopwatch.StartNew();
            var r = await client.CallToolAsync("read_text_file", args);
            ms[i] = sw.Elapsed.TotalMilliseconds;
            Assert.That(r.IsError, Is.Not.True);
        }
        Array.Sort(ms);
        return ms;
    }

    private static double P(double[] sorted, double p) => sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];
}
