using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Dapper;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Npgsql;
using Pdp.Storage;
using Pdp.Tests.Infrastructure;
using PolicyPoint.V1;

namespace Pdp.Tests.Service;

/// <summary>
/// <c>pdp serve</c> as a child process (policy from a stand-in OPA server through <c>--opa-url</c>, so the test does
/// not depend on a particular bundle), killed with SIGKILL under load and restarted: every decision_id a caller got
/// is in <c>decisions</c> exactly once, whether the decision log acknowledges at the PostgreSQL commit or at the
/// spool's fsync (<c>--log-ack journal</c>, where the kill leaves acknowledged records that only the spool holds).
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class CrashRecoveryTests
{
    private PostgresCluster _pg = null!;
    private WebApplication _opa = null!;
    private string _opaUrl = "";
    private int _opaCalls;

    [OneTimeSetUp]
    public async Task Start()
    {
        _pg = await PostgresCluster.CreateAsync();
        await DatabaseMigrator.MigrateAsync(_pg.ConnectionString);
        // A stand-in for OPA's Data API: allows everything, reports a bundle revision.
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _opa = builder.Build();
        _opa.MapGet("/health", () => Results.Ok(new { }));
        _opa.MapPost("/v1/data/policypoint/mcp/decision", () =>
        {
            Interlocked.Increment(ref _opaCalls);
            return Results.Text("""{"result": {"allow": true, "labels": ["t"]}, "provenance": {"bundles": {"mcp": {"revision": "opa-rev-7"}}}}""", "application/json");
        });
        await _opa.StartAsync();
        _opaUrl = _opa.Urls.First();
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        if (_opa is not null) await _opa.DisposeAsync();
        if (_pg is not null) await _pg.DisposeAsync();
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    private Process StartPdp(int port, string spool, string logAck)
    {
        var pdpDll = Path.Combine(AppContext.BaseDirectory, "pdp.dll");
        var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { pdpDll, "serve", "--opa-url", _opaUrl, "--db", _pg.ConnectionString, "--listen", $"127.0.0.1:{port}", "--spool", spool, "--log-ack", logAck })
            psi.ArgumentList.Add(a);
        var p = Process.Start(psi) ?? throw new InvalidOperationException("cannot start pdp");
        // Drain the pipes so a chatty child never blocks on a full buffer.
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) TestContext.Progress.WriteLine("pdp: " + e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    private static async Task WaitServingAsync(GrpcChannel channel, Process p)
    {
        var health = new Health.HealthClient(channel);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            Assert.That(p.HasExited, Is.False, "pdp serve exited during start-up");
            try
            {
                var r = await health.CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(2));
                if (r.Status == HealthCheckResponse.Types.ServingStatus.Serving) return;
            }
            catch (RpcException) { /* not listening yet */ }
            await Task.Delay(200);
        }
        Assert.Fail("pdp serve did not become SERVING within 60 s");
    }

    [TestCase("commit")]
    [TestCase("journal")]
    [CancelAfter(180_000)]
    public async Task Every_acknowledged_decision_survives_a_sigkill_exactly_once(string logAck)
    {
        var port = FreePort();
        var spool = Path.Combine(_pg.Directory, "spool-crash-" + logAck);
        var acked = new ConcurrentBag<string>();
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
        var client = new AuthorizationService.AuthorizationServiceClient(channel);

        var pdp = StartPdp(port, spool, logAck);
        try
        {
            await WaitServingAsync(channel, pdp);
            using var stopLoad = new CancellationTokenSource();
            var callers = Enumerable.Range(0, 8).Select(i => Task.Run(async () =>
            {
                var n = 0;
                while (!stopLoad.IsCancellationRequested)
                {
                    var request = CheckServiceTests.ValidRequest($"crash_tool_{i}");
                    request.Session = new PolicyPoint.V1.Session { SessionId = $"crash-{i}" };
                    try
                    {
                        var r = await client.CheckAsync(request, deadline: DateTime.UtcNow.AddSeconds(5));
                        if (r.DecisionId.Length > 0) acked.Add(r.DecisionId);
                        n++;
                    }
                    catch (RpcException) when (stopLoad.IsCancellationRequested || pdp.HasExited) { }
                    catch (RpcException) { await Task.Delay(10); }
                }
                return n;
            })).ToArray();

            await Task.Delay(TimeSpan.FromSeconds(3));
            var before = acked.Count;
            pdp.Kill(); // SIGKILL on Unix: no shutdown hooks, no flush
            await pdp.WaitForExitAsync();
            await Task.Delay(200);
            stopLoad.Cancel();
            await Task.WhenAll(callers);
            Assert.That(before, Is.GreaterThan(50), "the load should have produced decisions before the kill");
        }
        finally
        {
            if (!pdp.HasExited) pdp.Kill();
            pdp.Dispose();
        }

        // Restart on the same spool: whatever was durable only locally is replayed into PostgreSQL.
        var restarted = StartPdp(port, spool, logAck);
        try
        {
            await WaitServingAsync(channel, restarted);
            var after = await client.CheckAsync(CheckServiceTests.ValidRequest("after_restart"));
            Assert.That(after.Decision, Is.EqualTo(Decision.Allow));
            Assert.That(after.PolicyRevision, Is.EqualTo("opa-rev-7"));
            acked.Add(after.DecisionId);

            var ids = acked.ToArray();
            await using var db = new NpgsqlConnection(_pg.ConnectionString);
            await db.OpenAsync();
            Dictionary<string, long> counts = [];
            var deadline = DateTime.UtcNow.AddSeconds(30);
            do
            {
                counts = (await db.QueryAsync<(string id, long n)>(
                    "SELECT decision_id, count(*) FROM decisions WHERE decision_id = ANY(@ids) GROUP BY decision_id", new { ids }))
                    .ToDictionary(r => r.id, r => r.n);
                if (counts.Count == ids.Length) break;
                await Task.Delay(500);
            } while (DateTime.UtcNow < deadline);

            var missing = ids.Where(id => !counts.ContainsKey(id)).ToList();
            Assert.That(missing, Is.Empty, $"{missing.Count} of {ids.Length} acknowledged decisions are not in decisions");
            Assert.That(counts.Values.Where(n => n != 1), Is.Empty, "a decision is recorded more than once");
            TestContext.Progress.WriteLine($"acknowledged {ids.Length} decisions, all present exactly once");
        }
        finally
        {
            // Graceful stop (SIGTERM) so the child flushes; kill if it hangs.
            using (var term = Process.Start("kill", ["-TERM", restarted.Id.ToString()])) await term!.WaitForExitAsync();
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try { await restarted.WaitForExitAsync(wait.Token); }
            catch (OperationCanceledException) { restarted.Kill(); }
            restarted.Dispose();
        }
    }
}
