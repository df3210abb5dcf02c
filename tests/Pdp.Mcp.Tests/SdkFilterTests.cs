using System.IO.Pipelines;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using Pdp.Client;
using Pdp.Client.Mcp;
using Pdp.Mcp.Tests.Infrastructure;
using PolicyPoint.V1;

namespace Pdp.Mcp.Tests;

/// <summary>The call-tool filter on a real SDK server, driven by a real SDK client over in-memory pipes.</summary>
public sealed class SdkFilterTests
{
    private const string Agent = "spiffe://example.org/agent/x";
    private FakePdp _pdp = null!;
    private ServiceProvider _services = null!;
    private McpServer _server = null!;
    private McpClient _client = null!;
    private Task _serverRun = null!;
    private CancellationTokenSource _stop = null!;

    [McpServerToolType]
    public sealed class UnitTools
    {
        public static int Runs;

        [McpServerTool(Name = "read_note", ReadOnly = true, OpenWorld = false), System.ComponentModel.Description("Reads a note.")]
        public static string ReadNote(string path) { Interlocked.Increment(ref Runs); return "note:" + path; }

        [McpServerTool(Name = "delete_note", Destructive = true, Idempotent = true), System.ComponentModel.Description("Deletes a note.")]
        public static string DeleteNote(string path) { Interlocked.Increment(ref Runs); return "deleted " + path; }

        [McpServerTool(Name = "explode"), System.ComponentModel.Description("Always fails.")]
        public static string Explode() { Interlocked.Increment(ref Runs); throw new InvalidOperationException("boom"); }
    }

    [SetUp]
    public async Task Start()
    {
        UnitTools.Runs = 0;
        _pdp = await FakePdp.StartAsync();
        await Connect(_pdp.Address);
    }

    private async Task Connect(Uri pdpAddress)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddPolicyPointClient(o => { o.Address = pdpAddress; o.MaxRetries = 0; });
        services.AddMcpServer(o => o.ServerInfo = new Implementation { Name = "unit-server", Version = "1.0" })
            .WithTools<UnitTools>()
            .WithPolicyPointAuthorization(o => o.SpiffeId = Agent);
        _services = services.BuildServiceProvider();

        var clientToServer = new Pipe();
        var serverToClient = new Pipe();
        var options = _services.GetRequiredService<IOptions<McpServerOptions>>().Value;
        _server = McpServer.Create(new StreamServerTransport(clientToServer.Reader.AsStream(), serverToClient.Writer.AsStream(), "unit", null), options, null, _services);
        _stop = new CancellationTokenSource();
        _serverRun = _server.RunAsync(_stop.Token);
        _client = await McpClient.CreateAsync(
            new StreamClientTransport(clientToServer.Writer.AsStream(), serverToClient.Reader.AsStream(), null),
            new McpClientOptions { ClientInfo = new Implementation { Name = "unit-client", Version = "9.9" } });
    }

    [TearDown]
    public async Task Stop()
    {
        await _client.DisposeAsync();
        _stop.Cancel();
        try { await _serverRun.WaitAsync(TimeSpan.FromSeconds(5)); } catch (OperationCanceledException) { }
        await _server.DisposeAsync();
        await _services.DisposeAsync();
        await _pdp.DisposeAsync();
        _stop.Dispose();
    }

    [Test]
    public async Task Allowed_call_runs_the_tool_with_mapped_request_and_reports_outcome()
    {
        var result = await _client.CallToolAsync("read_note", new Dictionary<string, object?> { ["path"] = "/w/a.txt" });
        Assert.That(result.IsError, Is.Not.True);
        Assert.That(((TextContentBlock)result.Content[0]).Text, Is.EqualTo("note:/w/a.txt"));
        Assert.That(UnitTools.Runs, Is.EqualTo(1));

        var check = _pdp.Checks.Single();
        Assert.That(check.Workload.SpiffeId, Is.EqualTo(Agent));
        Assert.That(check.Tool.Server, Is.EqualTo("unit-server"));
        Assert.That(check.Tool.Name, Is.EqualTo("read_note"));
        Assert.That(check.Tool.Arguments.Fields["path"].StringValue, Is.EqualTo("/w/a.txt"));
        Assert.That(check.Tool.Annotations["readOnlyHint"], Is.EqualTo("true"));
        Assert.That(check.Tool.Annotations["openWorldHint"], Is.EqualTo("false"));
        Assert.That(check.Session.SessionId, Is.Not.Empty);
        Assert.That(check.Context.Fields["mcp"].StructValue.Fields["client_name"].StringValue, Is.EqualTo("unit-client"));
        await Task.Delay(300);
        Assert.That(_pdp.Outcomes.Select(o => (o.DecisionId, o.Status)), Is.EqualTo(new[] { ("d-1", "executed") }));
    }

    [Test]
    public async Task Require_approval_returns_an_error_result_and_does_not_run_the_tool()
    {
        _pdp.Decide = (r, _) => Task.FromResult(r.Tool.Annotations.GetValueOrDefault("destructiveHint") == "true"
            ? _pdp.Answer(Decision.RequireApproval, ("approval_required", "destructive tool"))
            : _pdp.Answer(Decision.Allow));
        var result = await _client.CallToolAsync("delete_note", new Dictionary<string, object?> { ["path"] = "/w/a.txt" });
        Assert.That(result.IsError, Is.True);
        Assert.That(((TextContentBlock)result.Content[0]).Text, Does.Contain("REQUIRE_APPROVAL").And.Contain("approval_required"));
        Assert.That(UnitTools.Runs, Is.EqualTo(0));
        Assert.That(_pdp.Checks.Single().Tool.Annotations["idempotentHint"], Is.EqualTo("true"));
        Assert.That(_pdp.Outcomes, Is.Empty);
    }

    [Test]
    public async Task Decisions_of_a_session_are_chained_by_parent_decision_id()
    {
        _pdp.Decide = (r, _) => Task.FromResult(r.Tool.Name == "delete_note" ? _pdp.Answer(Decision.Deny, ("no_grant", "no")) : _pdp.Answer(Decision.Allow));
        await _client.CallToolAsync("read_note", new Dictionary<string, object?> { ["path"] = "a" });
        await _client.CallToolAsync("delete_note", new Dictionary<string, object?> { ["path"] = "a" });
        await _client.CallToolAsync("read_note", new Dictionary<string, object?> { ["path"] = "b" });
        var checks = _pdp.Checks.ToArray();
        Assert.That(checks.Select(c => c.Session.ParentDecisionId), Is.EqualTo(new[] { "", "d-1", "d-2" }));
        Assert.That(checks.Select(c => c.Session.SessionId).Distinct().Count(), Is.EqualTo(1));
        Assert.That(UnitTools.Runs, Is.EqualTo(2));
    }

    [Test]
    public async Task Failing_tool_reports_failed_outcome()
    {
        var result = await _client.CallToolAsync("explode");
        Assert.That(result.IsError, Is.True);
        await Task.Delay(300);
        Assert.That(_pdp.Outcomes.Single().Status, Is.EqualTo("failed"));
    }

    [Test]
    public async Task Pdp_down_fails_closed()
    {
        await Stop();
        _pdp = await FakePdp.StartAsync();
        await Connect(new Uri("http://127.0.0.1:1")); // nothing listens on port 1
        var result = await _client.CallToolAsync("read_note", new Dictionary<string, object?> { ["path"] = "a" });
        Assert.That(result.IsError, Is.True);
        Assert.That(((TextContentBlock)result.Content[0]).Text, Does.Contain(PdpReasons.PdpUnavailable));
        Assert.That(UnitTools.Runs, Is.EqualTo(0));
    }

    [Test]
    public void Missing_identity_is_rejected_at_start_up()
    {
        var services = new ServiceCollection();
        Assert.That(() => services.AddMcpServer().WithPolicyPointAuthorization(o => { }), Throws.ArgumentException.With.Message.Contains("SpiffeId"));
    }
}
