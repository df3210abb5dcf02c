using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Pdp.Tests.Infrastructure;

/// <summary>
/// A throwaway PostgreSQL 15 cluster for tests: its own temp directory, a free port on 127.0.0.1, trust auth,
/// and a fresh database. Started through <c>scripts/pg.sh</c> (initdb + pg_ctl, run as user postgres when the
/// tests run as root). Typical use, one cluster per test class:
/// <code>
/// private PostgresCluster _pg = null!;
/// [OneTimeSetUp] public async Task Start() => _pg = await PostgresCluster.CreateAsync();
/// [OneTimeTearDown] public async Task Stop() => await _pg.DisposeAsync();
/// // _pg.ConnectionString: the fresh database (run DatabaseMigrator.MigrateAsync on it first if you need the schema)
/// // await _pg.StopImmediateAsync(); ... await _pg.StartAsync();   // simulate a crash and a restart
/// </code>
/// When initdb is not installed, <see cref="CreateAsync"/> calls <c>Assert.Ignore</c> so the tests are skipped
/// with a clear message rather than failing. Set <c>POLICYPOINT_ROOT</c> when the tests run outside the repo.
/// </summary>
public sealed class PostgresCluster : IAsyncDisposable
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(120);
    private readonly string _script;

    /// <summary>Folder holding the cluster (data/, server.log, the unix socket).</summary>
    public string Directory { get; }

    /// <summary>TCP port on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>Name of the fresh database created for this cluster's user.</summary>
    public string DatabaseName { get; }

    /// <summary>Connection string of the fresh database, as superuser <c>postgres</c>.</summary>
    public string ConnectionString => ConnectionStringFor(DatabaseName);

    /// <summary>Connection string of the <c>postgres</c> maintenance database, as superuser.</summary>
    public string AdminConnectionString => ConnectionStringFor("postgres");

    private PostgresCluster(string script, string directory, int port, string database)
    {
        _script = script;
        Directory = directory;
        Port = port;
        DatabaseName = database;
    }

    /// <summary>
    /// initdb's a new cluster in a temp dir, starts it on a free port and creates database
    /// <paramref name="databaseName"/> (default <c>pdp_test</c>). Takes a couple of seconds.
    /// </summary>
    public static async Task<PostgresCluster> CreateAsync(string databaseName = "pdp_test")
    {
        if (FindOnPath("initdb") is null || FindOnPath("pg_ctl") is null)
            Assert.Ignore("PostgreSQL binaries (initdb, pg_ctl) are not on PATH; skipping tests that need a real PostgreSQL.");
        var script = FindScript();
        var dir = Path.Combine(Path.GetTempPath(), "pdp-pg-" + Guid.NewGuid().ToString("N")[..12]);
        var cluster = new PostgresCluster(script, dir, FreePort(), databaseName);
        await cluster.StartAsync();
        await using var conn = new NpgsqlConnection(cluster.AdminConnectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand($"CREATE DATABASE \"{databaseName.Replace("\"", "\"\"")}\"", conn);
        await cmd.ExecuteNonQueryAsync();
        return cluster;
    }

    /// <summary>Connection string of database <paramref name="database"/> on this cluster, as superuser.</summary>
    public string ConnectionStringFor(string database) =>
        new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1", Port = Port, Username = "postgres", Database = database,
            Pooling = true, Timeout = 5,
        }.ConnectionString;

    /// <summary>Starts the server (initdb on first use); no-op when it is running.</summary>
    public Task StartAsync() => RunScriptAsync("start", Directory, Port.ToString());

    /// <summary>Stops the server like a crash (<c>pg_ctl stop -m immediate</c>): no checkpoint, clients cut off.</summary>
    public async Task StopImmediateAsync()
    {
        await RunScriptAsync("stop", Directory, "immediate");
        NpgsqlConnection.ClearAllPools();
    }

    /// <summary>Stops the server cleanly (<c>-m fast</c>).</summary>
    public Task StopAsync() => RunScriptAsync("stop", Directory, "fast");

    /// <summary>Stops the server and deletes its directory.</summary>
    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        try { await RunScriptAsync("stop", Directory, "immediate"); }
        catch (Exception e) { TestContext.Progress.WriteLine($"PostgresCluster: stop failed: {e.Message}"); }
        try { System.IO.Directory.Delete(Directory, recursive: true); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { /* temp dir; harmless */ }
    }

    private async Task RunScriptAsync(params string[] args)
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(_script);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("cannot start bash");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(CommandTimeout);
        try
        {
            await p.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"pg.sh {string.Join(' ', args)} did not finish in {CommandTimeout}");
        }
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"pg.sh {string.Join(' ', args)} failed ({p.ExitCode}): {await stderr}{await stdout}");
    }

    private static string FindScript() => Path.Combine(RepositoryRoot, "scripts", "pg.sh");

    /// <summary>
    /// The repository root (the folder holding <c>scripts/pg.sh</c>): <c>POLICYPOINT_ROOT</c> if set, else found
    /// above this source file's compile-time path, the test binaries or the current directory (builds with
    /// <c>--artifacts-path</c> put the binaries outside the repository).
    /// </summary>
    public static string RepositoryRoot => _root ??= FindRoot();

    private static string? _root;

    private static string FindRoot([System.Runtime.CompilerServices.CallerFilePath] string sourceFile = "")
    {
        var starts = new[]
        {
            Environment.GetEnvironmentVariable("POLICYPOINT_ROOT"), Path.GetDirectoryName(sourceFile),
            AppContext.BaseDirectory, Environment.CurrentDirectory,
        };
        foreach (var start in starts.Where(s => !string.IsNullOrEmpty(s)).Cast<string>())
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "scripts", "pg.sh"))) return d.FullName;
        throw new FileNotFoundException("scripts/pg.sh not found; set POLICYPOINT_ROOT to the repository root");
    }

    private static string? FindOnPath(string exe) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Select(d => Path.Combine(d, exe)).FirstOrDefault(File.Exists);

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
