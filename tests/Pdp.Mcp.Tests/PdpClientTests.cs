using System.Net;
using System.Net.Sockets;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Pdp.Client;
using Pdp.Mcp.Tests.Infrastructure;
using PolicyPoint.V1;

namespace Pdp.Mcp.Tests;

public sealed class PdpClientTests
{
    private FakePdp _pdp = null!;

    [SetUp]
    public async Task StartPdp() => _pdp = await FakePdp.StartAsync();

    [TearDown]
    public async Task StopPdp() => await _pdp.DisposeAsync();

    private static CheckRequest Request() => new()
    {
        Workload = new Workload { SpiffeId = "spiffe://example.org/agent/x" },
        Tool = new PolicyPoint.V1.Tool { Server = "fs", Name = "read_text_file" },
    };

    private PdpClientOptions Options(Action<PdpClientOptions>? tweak = null)
    {
        var o = new PdpClientOptions { Address = _pdp.Address, RetryBaseDelay = TimeSpan.FromMilliseconds(5), AttemptTimeout = TimeSpan.FromSeconds(2) };
        tweak?.Invoke(o);
        return o;
    }

    private static Uri ClosedPort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        var port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return new Uri($"http://127.0.0.1:{port}");
    }

    [Test]
    public async Task Check_returns_the_pdp_answer()
    {
        _pdp.Decide = (r, _) => Task.FromResult(_pdp.Answer(Decision.RequireApproval, ("destructive", "needs approval")));
        using var client = new PdpClient(Options());
        var response = await client.CheckAsync(Request());
        Assert.That(response.Decision, Is.EqualTo(Decision.RequireApproval));
        Assert.That(response.DecisionId, Is.EqualTo("d-1"));
        Assert.That(response.Reasons.Single().Code, Is.EqualTo("destructive"));
        Assert.That(_pdp.Checks.Single().Tool.Name, Is.EqualTo("read_text_file"));
    }

    [Test]
    public async Task Unreachable_pdp_fails_closed_without_throwing()
    {
        using var client = new PdpClient(new PdpClientOptions { Address = ClosedPort(), MaxRetries = 1, RetryBaseDelay = TimeSpan.FromMilliseconds(5) });
        var response = await client.CheckAsync(Request());
        Assert.That(response.Decision, Is.EqualTo(Decision.Deny));
        Assert.That(response.Reasons.Select(r => r.Code), Is.EqualTo(new[] { PdpReasons.PdpUnavailable }));
        Assert.That(response.DecisionId, Is.Empty);
    }

    [Test]
    public async Task Unavailable_is_retried_then_answered()
    {
        var calls = 0;
        _pdp.Decide = (r, _) => Interlocked.Increment(ref calls) <= 2
            ? throw new RpcException(new Status(StatusCode.Unavailable, "warming up"))
            : Task.FromResult(_pdp.Answer(Decision.Allow));
        using var client = new PdpClient(Options(o => o.MaxRetries = 3));
        var response = await client.CheckAsync(Request());
        Assert.That(response.Decision, Is.EqualTo(Decision.Allow));
        Assert.That(calls, Is.EqualTo(3));
    }

    [Test]
    public async Task Other_errors_are_not_retried_and_deny_with_pdp_error()
    {
        var calls = 0;
        _pdp.Decide = (r, _) => { Interlocked.Increment(ref calls); throw new RpcException(new Status(StatusCode.InvalidArgument, "tool.name is required")); };
        using var client = new PdpClient(Options(o => o.MaxRetries = 3));
        var response = await client.CheckAsync(Request());
        Assert.That(calls, Is.EqualTo(1));
        Assert.That(response.Decision, Is.EqualTo(Decision.Deny));
        Assert.That(response.Reasons.Single().Code, Is.EqualTo(PdpReasons.PdpError));
        Assert.That(response.Reasons.Single().Message, Does.Contain("tool.name is required"));
    }

    [Test]
    public async Task Slow_pdp_hits_the_deadline_and_fails_closed()
    {
        _pdp.Decide = async (r, ctx) => { await Task.Delay(2000, ctx.CancellationToken); return _pdp.Answer(Decision.Allow); };
        using var client = new PdpClient(Options(o => { o.AttemptTimeout = TimeSpan.FromMilliseconds(150); o.MaxRetries = 0; }));
        var started = System.Diagnostics.Stopwatch.StartNew();
        var response = await client.CheckAsync(Request());
        Assert.That(response.Decision, Is.EqualTo(Decision.Deny));
        Assert.That(response.Reasons.Single().Code, Is.EqualTo(PdpReasons.PdpUnavailable));
        Assert.That(started.Elapsed, Is.LessThan(TimeSpan.FromSeconds(1.5)));
    }

    [Test]
    public async Task Circuit_opens_after_repeated_failures_and_stops_calling_the_pdp()
    {
        var calls = 0;
        _pdp.Decide = (r, _) => { Interlocked.Increment(ref calls); throw new RpcException(new Status(StatusCode.Unavailable, "down")); };
        using var client = new PdpClient(Options(o => { o.MaxRetries = 0; o.BreakerMinimumThroughput = 3; o.BreakerFailureRatio = 0.5; o.BreakerBreakDuration = TimeSpan.FromSeconds(30); }));
        for (var i = 0; i < 3; i++) await client.CheckAsync(Request());
        var before = calls;
        var response = await client.CheckAsync(Request());
        Assert.That(before, Is.EqualTo(3));
        Assert.That(calls, Is.EqualTo(3), "an open circuit must not reach the PDP");
        Assert.That(response.Reasons.Single().Code, Is.EqualTo(PdpReasons.PdpUnavailable));
        Assert.That(response.Reasons.Single().Message, Does.Contain("circuit open"));
    }

    [Test]
    public async Task Unspecified_decision_is_treated_as_deny()
    {
        _pdp.Decide = (r, _) => Task.FromResult(_pdp.Answer(Decision.Unspecified));
        using var client = new PdpClient(Options());
        var response = await client.CheckAsync(Request());
        Assert.That(response.Decision, Is.EqualTo(Decision.Deny));
        Assert.That(response.DecisionId, Is.EqualTo("d-1"));
        Assert.That(response.Reasons.Select(r => r.Code), Does.Contain(PdpReasons.UnspecifiedDecision));
    }

    [Test]
    public async Task Caller_cancellation_throws_instead_of_denying()
    {
        _pdp.Decide = async (r, ctx) => { await Task.Delay(2000, ctx.CancellationToken); return _pdp.Answer(Decision.Allow); };
        using var client = new PdpClient(Options());
        using var cts = new CancellationTokenSource(100);
        Assert.That(async () => await client.CheckAsync(Request(), cts.Token), Throws.InstanceOf<OperationCanceledException>());
    }

    [Test]
    public async Task ReportOutcome_reaches_the_decision_log_and_reports_failure_as_false()
    {
        using var client = new PdpClient(Options());
        Assert.That(await client.ReportOutcomeAsync("d-9", "executed", "ok"), Is.True);
        Assert.That(_pdp.Outcomes.Single().DecisionId, Is.EqualTo("d-9"));
        using var down = new PdpClient(new PdpClientOptions { Address = ClosedPort(), MaxRetries = 0 });
        Assert.That(await down.ReportOutcomeAsync("d-9", "executed"), Is.False);
        Assert.That(await client.ReportOutcomeAsync("", "executed"), Is.False);
    }

    [Test]
    public void Invalid_options_are_rejected_with_a_clear_message()
    {
        Assert.That(() => new PdpClient(new PdpClientOptions()), Throws.ArgumentException.With.Message.Contains("Address is required"));
        Assert.That(() => new PdpClient(new PdpClientOptions { Address = new Uri("ftp://x") }), Throws.ArgumentException.With.Message.Contains("http://"));
        Assert.That(() => new PdpClient(new PdpClientOptions { Address = new Uri("http://x"), MaxRetries = -1 }), Throws.ArgumentException.With.Message.Contains("MaxRetries"));
    }

    [Test]
    public async Task AddPolicyPointClient_registers_a_working_client()
    {
        var services = new ServiceCollection();
        services.AddPolicyPointClient(o => o.Address = _pdp.Address);
        await using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<IPdpClient>();
        Assert.That(provider.GetRequiredService<IPdpClient>(), Is.SameAs(client));
        var response = await client.CheckAsync(Request());
        Assert.That(response.Decision, Is.EqualTo(Decision.Allow));
    }
}
