using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using Npgsql;
using Pdp.Client;
using Pdp.Tests.Infrastructure;
using PolicyPoint.V1;

namespace Pdp.Mcp.Tests.Infrastructure;

/// <summary>
/// The real stack for end-to-end tests: a throwaway PostgreSQL (declog's <see cref="PostgresCluster"/>), and the real
/// <c>pdp serve</c> on 127.0.0.1:random serving the repository's <c>rego/</c>. Missing prerequisites fail the test
/// with the command that fixes them; nothing is skipped.
/// </summary>
public sealed class E2eEnvironment : IAsyncDisposable
{
    private readonly Process _pdp;
    private readonly PostgresCluster _pg;
    private readonly string _spool;

    /// <summary>The repository root (where rego/, scripts/ and tests/e2e live).</summary>
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>The PDP's gRPC address.</summary>
    public Uri PdpAddress { get; }

    /// <summary>How to run the pdp CLI: <c>dotnet</c> followed by this dll.</summary>
    public string PdpDll { get; }

    /// <summary>Connection string of the decision log database (superuser).</summary>
    public string Database => _pg.ConnectionString;

    private E2eEnvironment(PostgresCluster pg, Process pdp, Uri address, string pdpDll, string spool)
    {
        _pg = pg;
        _pdp = pdp;
        PdpAddress = address;
        PdpDll = pdpDll;
        _spool = spool;
    }

    /// <summary>Starts PostgreSQL and <c>pdp serve</c>, and waits until the PDP records decisions.</summary>
    public static async Task<E2eEnvironment> StartAsync()
    {
        if (Which("initdb") is null || Which("pg_ctl") is null)
            Assert.Fail("PostgreSQL binaries (initdb, pg_ctl) must be on PATH for the end-to-end tests.");
        var pdpDll = BuiltDll("Pdp", "pdp.dll");
        Environment.SetEnvironmentVariable("POLICYPOINT_ROOT", RepoRoot);
        var pg = await PostgresCluster.CreateAsync("pdp_e2e");
        var port = FreePort();
        var spool = Path.Combine(Path.GetTempPath(), "pdp-e2e-spool-" + Guid.NewGuid().ToString("N")[..8]);
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { pdpDll, "serve", "--policy", Path.Combine(RepoRoot, "rego"), "--db", pg.ConnectionString, "--listen", $"127.0.0.1:{port}", "--spool", spool },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var pdp = Process.Start(start)!;
        pdp.OutputDataReceived += (_, e) => { if (e.Data is not null) TestContext.Progress.WriteLine("[pdp] " + e.Data); };
        pdp.ErrorDataReceived += (_, e) => { if (e.Data is not null) TestContext.Progress.WriteLine("[pdp] " + e.Data); };
        pdp.BeginOutputReadLine();
        pdp.BeginErrorReadLine();
        var env = new E2eEnvironment(pg, pdp, new Uri($"http://127.0.0.1:{port}"), pdpDll, spool);
        try
        {
            await env.WaitReadyAsync();
        }
        catch
        {
            await env.DisposeAsync();
            throw;
        }
        return env;
    }

    // Ready = a Check comes back with a recorded decision (policy loaded, log writable).
    private async Task WaitReadyAsync()
    {
        using var client = new PdpClient(new PdpClientOptions { Address = PdpAddress, MaxRetries = 0, AttemptTimeout = TimeSpan.FromSeconds(5) });
        var deadline = DateTime.UtcNow.AddSeconds(90);
        CheckResponse? last = null;
        while (DateTime.UtcNow < deadline)
        {
            if (_pdp.HasExited) Assert.Fail($"pdp serve exited with code {_pdp.ExitCode} before it was ready (see [pdp] lines).");
            last = await client.CheckAsync(new CheckRequest
            {
                RequestId = "e2e-readiness-" + Guid.NewGuid().ToString("N"),
                Workload = new Workload { SpiffeId = "spiffe://example.org/e2e/readiness" },
                Tool = new PolicyPoint.V1.Tool { Server = "readiness", Name = "probe" },
            });
            if (!string.IsNullOrEmpty(last.DecisionId)) return;
            await Task.Delay(500);
        }
        Assert.Fail($"pdp serve at {PdpAddress} was not ready within 90 s; last answer: {last}");
    }

    /// <summary>Rows of <c>compliance.decision_chain</c> for a session, in chain order.</summary>
    public async Task<List<ChainRow>> ChainAsync(string sessionId)
    {
        await using var conn = new NpgsqlConnection(Database);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(
            "SELECT step, decision_id::text, parent_decision_id::text, spiffe_id, server, tool, decision, reasons::text, coalesce(outcomes::text, '') " +
            "FROM compliance.decision_chain WHERE session_id = @s ORDER BY step", conn);
        cmd.Parameters.AddWithValue("s", sessionId);
        var rows = new List<ChainRow>();
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            rows.Add(new ChainRow(reader.GetInt64(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetString(3),
                reader.GetString(4), reader.GetString(5), reader.GetString(6), reader.GetString(7), reader.GetString(8)));
        return rows;
    }

    /// <summary>The session a decision belongs to, from <c>compliance.decision_chain</c>.</summary>
    public async Task<string?> SessionOfAsync(string decisionId)
    {
        await using var conn = new NpgsqlConnection(Database);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand("SELECT session_id FROM compliance.decision_chain WHERE decision_id::text = @d", conn);
        cmd.Parameters.AddWithValue("d", decisionId);
        return (string?)await cmd.ExecuteScalarAsync();
    }

    /// <summary>Path of a project's built dll next to this test's build output (artifacts or bin/ layout).</summary>
    public static string BuiltDll(string project, string dll)
    {
        var testDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var candidates = new List<string>();
        // --artifacts-path layout: <art>/bin/<Project>/<config>/
        if (testDir.Parent?.Parent is { } artBin) candidates.Add(Path.Combine(artBin.FullName, project, testDir.Name, dll));
        // classic layout: <project dir>/bin/<Config>/net10.0/
        var config = testDir.Parent?.Name ?? "Debug";
        foreach (var folder in new[] { "src", "samples" })
            candidates.Add(Path.Combine(RepoRoot, folder, project, "bin", config, testDir.Name, dll));
        var found = candidates.FirstOrDefault(File.Exists);
        if (found is null) Assert.Fail($"{dll} was not built; looked in: {string.Join(", ", candidates)}");
        return found!;
    }

    private static string FindRepoRoot()
    {
        var root = typeof(E2eEnvironment).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "RepoRoot")?.Value;
        if (root is null || !File.Exists(Path.Combine(root, "PolicyPoint.sln")))
            throw new InvalidOperationException($"repository root not found (RepoRoot metadata '{root}')");
        return root.TrimEnd(Path.DirectorySeparatorChar);
    }

    /// <summary>Full path of an executable on PATH, or null.</summary>
    public static string? Which(string exe) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator).Select(d => Path.Combine(d, exe)).FirstOrDefault(File.Exists);

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    /// <summary>Stops the PDP and PostgreSQL and removes the spool.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_pdp.HasExited)
        {
            _pdp.Kill(entireProcessTree: true);
            await _pdp.WaitForExitAsync();
        }
        _pdp.Dispose();
        await _pg.DisposeAsync();
        try { Directory.Delete(_spool, recursive: true); } catch (DirectoryNotFoundException) { }
    }
}

/// <summary>One row of <c>compliance.decision_chain</c> (reasons and outcomes as JSON text).</summary>
public sealed record ChainRow(long Step, string DecisionId, string? ParentDecisionId, string SpiffeId, string Server, string Tool,
    string Decision, string Reasons, string Outcomes);
