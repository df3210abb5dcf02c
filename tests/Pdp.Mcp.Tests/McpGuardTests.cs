using System.Text.Json.Nodes;
using Pdp.Client;
using Pdp.Client.McpGuard;
using Pdp.Mcp.Tests.Infrastructure;
using PolicyPoint.V1;

namespace Pdp.Mcp.Tests;

public sealed class McpGuardTests
{
    private const string Agent = "spiffe://example.org/agent/x";
    private const string ToolsListResult =
        """{"tools":[{"name":"read_text_file","inputSchema":{"type":"object"},"annotations":{"readOnlyHint":true}},{"name":"delete_file","inputSchema":{"type":"object"},"annotations":{"destructiveHint":true,"idempotentHint":false}}]}""";

    private FakePdp _pdp = null!;
    private PdpClient _client = null!;

    [SetUp]
    public async Task Start()
    {
        _pdp = await FakePdp.StartAsync();
        _client = new PdpClient(new PdpClientOptions { Address = _pdp.Address });
    }

    [TearDown]
    public async Task Stop()
    {
        _client.Dispose();
        await _pdp.DisposeAsync();
    }

    private GuardHarness Harness(Action<McpGuardOptions>? tweak = null)
    {
        var options = new McpGuardOptions { SpiffeId = Agent, SessionId = "s-1" };
        tweak?.Invoke(options);
        return new GuardHarness(options, _client);
    }

    private static async Task Initialize(GuardHarness h)
    {
        const string init = """{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"test-client","version":"1.2.3"}}}""";
        await h.FromClient(init);
        Assert.That(await h.AtChild(), Is.EqualTo(init));
        const string result = """{"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"2025-06-18","capabilities":{"tools":{}},"serverInfo":{"name":"fs-test","version":"0.1"}}}""";
        await h.FromChild(result);
        Assert.That(await h.AtClient(), Is.EqualTo(result));
        await h.FromClient("""{"jsonrpc":"2.0","method":"notifications/initialized"}""");
        Assert.That(await h.AtChild(), Is.EqualTo("""{"jsonrpc":"2.0","method":"notifications/initialized"}"""));
    }

    // The guard's own tools/list to the child: answer it like a server would.
    private static async Task AnswerOwnToolsList(GuardHarness h)
    {
        var request = GuardHarness.Json(await h.AtChild());
        Assert.That(request["method"]!.GetValue<string>(), Is.EqualTo("tools/list"));
        await h.FromChild($$"""{"jsonrpc":"2.0","id":{{request["id"]!.ToJsonString()}},"result":{{ToolsListResult}}}""");
    }

    [Test]
    public async Task Other_messages_pass_through_unchanged_and_in_order()
    {
        await using var h = Harness();
        await Initialize(h);
        string[] fromClient =
        [
            """{"jsonrpc":"2.0","id":"p1","method":"ping"}""",
            """{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"x","reason":"user"}}""",
            """{ "jsonrpc" : "2.0", "id": 5, "method": "resources/list", "params": {} }""",
        ];
        foreach (var line in fromClient) await h.FromClient(line);
        foreach (var line in fromClient) Assert.That(await h.AtChild(), Is.EqualTo(line));

        string[] fromChild =
        [
            """{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"t","progress":1,"total":2}}""",
            """{"jsonrpc":"2.0","id":"p1","result":{}}""",
            """{"jsonrpc":"2.0","id":9,"method":"roots/list"}""",
        ];
        foreach (var line in fromChild) await h.FromChild(line);
        foreach (var line in fromChild) Assert.That(await h.AtClient(), Is.EqualTo(line));
        Assert.That(_pdp.Checks, Is.Empty, "only tools/call goes to the PDP");
        Assert.That(h.Guard.ServerName, Is.EqualTo("fs-test"));
    }

    [Test]
    public async Task Denied_call_is_answered_with_reasons_and_never_reaches_the_child()
    {
        _pdp.Decide = (r, _) => Task.FromResult(_pdp.Answer(Decision.RequireApproval, ("approval_required", "delete_file is destructive")));
        await using var h = Harness();
        await Initialize(h);
        await h.FromClient("""{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"delete_file","arguments":{"path":"/tmp/w/a.txt"}}}""");
        await AnswerOwnToolsList(h);

        var reply = GuardHarness.Json(await h.AtClient());
        Assert.That(reply["id"]!.GetValue<int>(), Is.EqualTo(3));
        Assert.That(reply["result"]!["isError"]!.GetValue<bool>(), Is.True);
        var text = reply["result"]!["content"]![0]!["text"]!.GetValue<string>();
        Assert.That(text, Does.Contain("REQUIRE_APPROVAL").And.Contain("approval_required").And.Contain("d-1"));
        Assert.That(reply["result"]!["_meta"]!["policypoint/decision"]!["decision_id"]!.GetValue<string>(), Is.EqualTo("d-1"));
        Assert.That(await h.AtChildWithin(TimeSpan.FromMilliseconds(300)), Is.Null, "the denied call must not be forwarded");

        var check = _pdp.Checks.Single();
        Assert.That(check.Workload.SpiffeId, Is.EqualTo(Agent));
        Assert.That(check.Tool.Server, Is.EqualTo("fs-test"));
        Assert.That(check.Tool.Name, Is.EqualTo("delete_file"));
        Assert.That(check.Tool.Annotations["destructiveHint"], Is.EqualTo("true"));
        Assert.That(check.Tool.Annotations["idempotentHint"], Is.EqualTo("false"));
        Assert.That(check.Tool.Arguments.Fields["path"].StringValue, Is.EqualTo("/tmp/w/a.txt"));
        Assert.That(check.Resource.Id, Is.EqualTo("/tmp/w/a.txt"));
        Assert.That(check.Session.SessionId, Is.EqualTo("s-1"));
        Assert.That(check.Context.Fields["mcp"].StructValue.Fields["client_name"].StringValue, Is.EqualTo("test-client"));
    }

    [Test]
    public async Task Allowed_call_is_forwarded_unchanged_chained_and_its_outcome_reported()
    {
        await using var h = Harness(o => o.ServerName = "configured");
        await Initialize(h);
        const string call = """{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"read_text_file","arguments":{"path":"a.txt"},"_meta":{"progressToken":7}}}""";
        await h.FromClient(call);
        await AnswerOwnToolsList(h);
        Assert.That(await h.AtChild(), Is.EqualTo(call));
        const string result = """{"jsonrpc":"2.0","id":4,"result":{"content":[{"type":"text","text":"hello"}]}}""";
        await h.FromChild(result);
        Assert.That(await h.AtClient(), Is.EqualTo(result));

        const string second = """{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"read_text_file","arguments":{"path":"b.txt"}}}""";
        await h.FromClient(second);
        Assert.That(await h.AtChild(), Is.EqualTo(second), "tools are known now: no second tools/list");

        var checks = _pdp.Checks.ToArray();
        Assert.That(checks[0].Tool.Server, Is.EqualTo("configured"));
        Assert.That(checks[0].Tool.Annotations["readOnlyHint"], Is.EqualTo("true"));
        Assert.That(checks[0].Session.ParentDecisionId, Is.Empty);
        Assert.That(checks[1].Session.ParentDecisionId, Is.EqualTo("d-1"));
        Assert.That(checks[1].Session.SessionId, Is.EqualTo(checks[0].Session.SessionId));
        await Task.Delay(300); // outcome reports are fire-and-forget
        Assert.That(_pdp.Outcomes.Select(o => (o.DecisionId, o.Status)), Is.EqualTo(new[] { ("d-1", "executed") }));
    }

    [Test]
    public async Task Outcome_reports_in_flight_are_awaited_before_the_guard_ends()
    {
        _pdp.OutcomeDelay = TimeSpan.FromMilliseconds(700);
        var h = Harness();
        await Initialize(h);
        await h.FromClient("""{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"read_text_file","arguments":{}}}""");
        await AnswerOwnToolsList(h);
        await h.AtChild();
        await h.FromChild("""{"jsonrpc":"2.0","id":4,"result":{"content":[]}}""");
        await h.AtClient();
        await h.DisposeAsync(); // the child goes away right after answering
        Assert.That(_pdp.Outcomes.Select(o => o.Status), Is.EqualTo(new[] { "executed" }));
    }

    [Test]
    public async Task Tools_list_changed_makes_the_guard_learn_annotations_again()
    {
        await using var h = Harness();
        await Initialize(h);
        const string call = """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete_file","arguments":{}}}""";
        await h.FromClient(call);
        await AnswerOwnToolsList(h);
        Assert.That(await h.AtChild(), Is.EqualTo(call));

        const string changed = """{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}""";
        await h.FromChild(changed);
        Assert.That(await h.AtClient(), Is.EqualTo(changed), "the notification still reaches the client");
        await h.FromClient(call.Replace("\"id\":1", "\"id\":2"));
        var refetch = GuardHarness.Json(await h.AtChild());
        Assert.That(refetch["method"]!.GetValue<string>(), Is.EqualTo("tools/list"));
        await h.FromChild($$$"""{"jsonrpc":"2.0","id":{{{refetch["id"]!.ToJsonString()}}},"result":{"tools":[{"name":"delete_file","inputSchema":{"type":"object"},"annotations":{"destructiveHint":false}}]}}""");
        Assert.That(GuardHarness.Json(await h.AtChild())["id"]!.GetValue<int>(), Is.EqualTo(2));
        Assert.That(_pdp.Checks.Select(c => c.Tool.Annotations["destructiveHint"]), Is.EqualTo(new[] { "true", "false" }));
    }

    [Test]
    public async Task Malformed_messages_get_json_rpc_errors_and_the_guard_keeps_going()
    {
        await using var h = Harness();
        await h.FromClient("{not json");
        var parse = GuardHarness.Json(await h.AtClient());
        Assert.That(parse["error"]!["code"]!.GetValue<int>(), Is.EqualTo(-32700));
        Assert.That(parse["id"], Is.Null);

        await h.FromClient("""{"jsonrpc":"2.0","id":7}""");
        var invalid = GuardHarness.Json(await h.AtClient());
        Assert.That(invalid["error"]!["code"]!.GetValue<int>(), Is.EqualTo(-32600));
        Assert.That(invalid["id"]!.GetValue<int>(), Is.EqualTo(7));

        await h.FromClient("[1,2]");
        Assert.That(GuardHarness.Json(await h.AtClient())["error"]!["code"]!.GetValue<int>(), Is.EqualTo(-32600));

        await h.FromClient("""{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"arguments":{}}}""");
        var noName = GuardHarness.Json(await h.AtClient());
        Assert.That(noName["error"]!["code"]!.GetValue<int>(), Is.EqualTo(-32602));
        Assert.That(noName["id"]!.GetValue<int>(), Is.EqualTo(8));

        await h.FromChild("this is not JSON-RPC");
        Assert.That(GuardHarness.Json(await h.AtChild())["error"]!["code"]!.GetValue<int>(), Is.EqualTo(-32700));

        await h.FromClient("""{"jsonrpc":"2.0","id":"after","method":"ping"}""");
        Assert.That(await h.AtChild(), Is.EqualTo("""{"jsonrpc":"2.0","id":"after","method":"ping"}"""));
        Assert.That(_pdp.Checks, Is.Empty);
    }

    [Test]
    public async Task Tools_list_hides_tools_without_a_grant_when_filtering()
    {
        _pdp.Decide = (r, _) => Task.FromResult(r.Tool.Name == "delete_file"
            ? _pdp.Answer(Decision.Deny, ("no_grant", "no grant"))
            : _pdp.Answer(Decision.Allow));
        await using var h = Harness(o => o.FilterToolsList = true);
        await Initialize(h);
        await h.FromClient("""{"jsonrpc":"2.0","id":2,"method":"tools/list"}""");
        Assert.That(await h.AtChild(), Is.EqualTo("""{"jsonrpc":"2.0","id":2,"method":"tools/list"}"""));
        await h.FromChild($$"""{"jsonrpc":"2.0","id":2,"result":{{ToolsListResult}}}""");
        var listed = GuardHarness.Json(await h.AtClient());
        var names = listed["result"]!["tools"]!.AsArray().Select(t => t!["name"]!.GetValue<string>());
        Assert.That(names, Is.EqualTo(new[] { "read_text_file" }));
        Assert.That(listed["id"]!.GetValue<int>(), Is.EqualTo(2));
        Assert.That(_pdp.Checks.All(c => c.Context.Fields["mcp"].StructValue.Fields["method"].StringValue == "tools/list"), Is.True);
        Assert.That(_pdp.Checks.All(c => c.Session.SessionId == ""), Is.True, "probes stay out of the session chain");
    }

    [Test]
    public async Task Pdp_down_means_the_call_is_denied_not_forwarded()
    {
        using var down = new PdpClient(new PdpClientOptions { Address = new Uri("http://127.0.0.1:1"), MaxRetries = 0 });
        await using var h = new GuardHarness(new McpGuardOptions { SpiffeId = Agent }, down);
        await h.FromClient("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_text_file","arguments":{}}}""");
        await AnswerOwnToolsList(h);
        var reply = GuardHarness.Json(await h.AtClient());
        Assert.That(reply["result"]!["isError"]!.GetValue<bool>(), Is.True);
        Assert.That(reply["result"]!["content"]![0]!["text"]!.GetValue<string>(), Does.Contain(PdpReasons.PdpUnavailable));
        Assert.That(await h.AtChildWithin(TimeSpan.FromMilliseconds(200)), Is.Null);
    }

    [Test]
    public async Task Child_exit_ends_the_guard_with_the_childs_exit_code()
    {
        var guard = new McpGuardProxy(new McpGuardOptions { SpiffeId = Agent }, _client);
        // The client never closes its stdin: the guard must still end when the child exits.
        var code = await guard.RunProcessAsync("sh", ["-c", "exit 3"], new BlockingStream(), Stream.Null).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.That(code, Is.EqualTo(3));

        // The client closes its side: the child sees EOF on stdin and its exit code is returned.
        var guard2 = new McpGuardProxy(new McpGuardOptions { SpiffeId = Agent }, _client);
        code = await guard2.RunProcessAsync("sh", ["-c", "cat >/dev/null; exit 4"], new MemoryStream(), Stream.Null).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.That(code, Is.EqualTo(4));
    }

    [Test]
    public void Missing_command_and_bad_identity_are_clear_errors()
    {
        var guard = new McpGuardProxy(new McpGuardOptions { SpiffeId = Agent }, _client);
        Assert.That(async () => await guard.RunProcessAsync("/nonexistent/server", [], new MemoryStream(), Stream.Null),
            Throws.InvalidOperationException.With.Message.Contains("/nonexistent/server"));
        Assert.That(() => new McpGuardProxy(new McpGuardOptions { SpiffeId = "agent-x" }, _client), Throws.ArgumentException.With.Message.Contains("SPIFFE"));
    }

    /// <summary>A stdin that never yields data until cancelled, like a client that keeps the pipe open.</summary>
    private sealed class BlockingStream : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => 0; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) { Thread.Sleep(Timeout.Infinite); return 0; }
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default) { await Task.Delay(Timeout.Infinite, ct); return 0; }
        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) => ReadAsync(buffer.AsMemory(offset, count), ct).AsTask();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
