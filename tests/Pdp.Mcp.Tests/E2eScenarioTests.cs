using System.Diagnostics;
using System.Text.Json.Nodes;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Pdp.Client.Mcp;
using Pdp.Mcp.Tests.Infrastructure;

namespace Pdp.Mcp.Tests;

/// <summary>
/// Issue 4, item 5, on the real stack: PostgreSQL + <c>pdp serve</c> with <c>rego/</c>, real MCP clients and servers.
/// The policy facts used (rego/data.yaml): agent x holds grant agent-x-filesystem on server "filesystem" (alias of
/// server-filesystem's "secure-filesystem-server") with path prefixes /tmp/policypoint-demo/{workspace,outbox};
/// workspace/secrets is a sensitive prefix, outbox an egress prefix, write_file is destructive; agent y has no grant.
/// </summary>
[NonParallelizable]
public sealed class E2eScenarioTests
{
    private const string Root = "/tmp/policypoint-demo";
    private const string AgentX = "spiffe://example.org/agent/x";
    private const string AgentY = "spiffe://example.org/agent/y";
    private E2eEnvironment _env = null!;

    [OneTimeSetUp]
    public async Task Start() => _env = await E2eEnvironment.StartAsync();

    [OneTimeTearDown]
    public async Task Stop()
    {
        if (_env is not null) await _env.DisposeAsync();
    }

    [Test]
    public async Task Typescript_client_through_mcp_guard_in_front_of_server_filesystem()
    {
        var e2eDir = Path.Combine(E2eEnvironment.RepoRoot, "tests", "e2e");
        if (!File.Exists(Path.Combine(e2eDir, "node_modules", "@modelcontextprotocol", "server-filesystem", "dist", "index.js"))
            || !File.Exists(Path.Combine(e2eDir, "node_modules", "@modelcontextprotocol", "sdk", "package.json")))
            Assert.Fail($"npm packages for the end-to-end test are missing: run `npm ci --prefix tests/e2e` (in {E2eEnvironment.RepoRoot}).");
        if (E2eEnvironment.Which("node") is null) Assert.Fail("node is not on PATH; the end-to-end driver needs Node.js 20+.");

        var start = new ProcessStartInfo("node")
        {
            ArgumentList = { Path.Combine(e2eDir, "scenario.mjs") },
            WorkingDirectory = e2eDir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            Environment =
            {
                ["PDP_COMMAND"] = new JsonArray("dotnet", _env.PdpDll).ToJsonString(),
                ["PDP_ADDRESS"] = _env.PdpAddress.ToString().TrimEnd('/'),
                ["DEMO_ROOT"] = Root,
                ["LATENCY_CALLS"] = "30",
            },
        };
        using var driver = Process.Start(start)!;
        var stderr = driver.StandardError.ReadToEndAsync();
        var stdout = await driver.StandardOutput.ReadToEndAsync().WaitAsync(TimeSpan.FromMinutes(3));
        await driver.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
        TestContext.Progress.WriteLine(stdout);
        var steps = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!.AsObject())
            .ToDictionary(s => s["step"]!.GetValue<string>());
        var failed = steps.Values.Where(s => s["ok"]?.GetValue<bool>() != true && s["step"]!.GetValue<string>() != "done").Select(s => s.ToJsonString()).ToList();
        Assert.That(failed, Is.Empty, "failed steps; driver stderr:\n" + await stderr);
        Assert.That(driver.ExitCode, Is.EqualTo(0));

        Assert.That(steps["read_allowed"]["decision"]!.GetValue<string>(), Is.EqualTo("ALLOW"));
        Assert.That(Codes(steps["write_outside_prefix"]), Does.Contain("argument_not_allowed"));
        Assert.That(steps["write_outside_prefix"]["file_created"]!.GetValue<bool>(), Is.False);
        Assert.That(Codes(steps["second_identity_no_grant"]), Does.Contain("no_grant"));
        Assert.That(Codes(steps["egress_after_sensitive"]), Does.Contain("egress_after_sensitive_read"));
        Assert.That(steps["destructive_requires_approval"]["decision"]!.GetValue<string>(), Is.EqualTo("REQUIRE_APPROVAL"));
        Assert.That(File.Exists(Path.Combine(Root, "workspace", "report.txt")), Is.False);

        var latency = steps["latency"];
        TestContext.Progress.WriteLine($"McpGuard latency per tools/call: {latency.ToJsonString()}");
        TestContext.Progress.WriteLine($"PDP Check alone (PdpClient, same PDP, durable log): {await CheckLatencyAsync(30)}");

        var chain = await _env.ChainAsync(steps["setup"]["session_id"]!.GetValue<string>());
        AssertScenarioChain(chain, steps);
        var second = await _env.ChainAsync(steps["setup"]["second_session_id"]!.GetValue<string>());
        Assert.That(second.Select(r => (r.SpiffeId, r.Tool, r.Decision)), Is.EqualTo(new[] { (AgentY, "write_file", "deny") }));
        Assert.That(second[0].Reasons, Does.Contain("no_grant"));
    }

    private static void AssertScenarioChain(List<ChainRow> chain, Dictionary<string, JsonObject> steps)
    {
        Assert.That(chain.Select(r => (r.Tool, r.Decision)), Is.EqualTo(new[]
        {
            ("read_text_file", "allow"),
            ("write_file", "deny"),
            ("read_text_file", "allow"),
            ("write_file", "deny"),
            ("write_file", "require_approval"),
        }), "the session's chain in compliance.decision_chain, in order");
        // The log keeps the name the PEP reported (serverInfo.name); the policy maps it to "filesystem" via server_aliases.
        Assert.That(chain.All(r => r.SpiffeId == AgentX && r.Server == "secure-filesystem-server"), Is.True, string.Join(", ", chain.Select(r => r.SpiffeId + "@" + r.Server)));
        Assert.That(chain[0].ParentDecisionId, Is.Null.Or.Empty);
        for (var i = 1; i < chain.Count; i++)
            Assert.That(chain[i].ParentDecisionId, Is.EqualTo(chain[i - 1].DecisionId), $"step {i + 1} links to step {i}");
        Assert.That(chain[0].Outcomes, Does.Contain("executed"), "the guard reported the allowed read's outcome");
        Assert.That(chain[2].Outcomes, Does.Contain("executed"));
        Assert.That(chain[1].Outcomes + chain[3].Outcomes + chain[4].Outcomes, Is.Empty, "calls that did not run have no outcome");
        Assert.That(chain[1].Reasons, Does.Contain("argument_not_allowed"));
        Assert.That(chain[3].Reasons, Does.Contain("egress_after_sensitive_read"));
        Assert.That(chain[4].Reasons, Does.Contain("approval_required"));
        // The ids the client saw are the ids that were logged.
        Assert.That(chain[1].DecisionId, Is.EqualTo(steps["write_outside_prefix"]["decision_id"]!.GetValue<string>()));
        Assert.That(chain[3].DecisionId, Is.EqualTo(steps["egress_after_sensitive"]["decision_id"]!.GetValue<string>()));
        Assert.That(chain[4].DecisionId, Is.EqualTo(steps["destructive_requires_approval"]["decision_id"]!.GetValue<string>()));
    }

    // The share of the guard's added latency that is the PDP round trip itself (policy evaluation + durable record).
    private async Task<string> CheckLatencyAsync(int calls)
    {
        using var client = new Pdp.Client.PdpClient(new Pdp.Client.PdpClientOptions { Address = _env.PdpAddress });
        var request = new PolicyPoint.V1.CheckRequest
        {
            Workload = new PolicyPoint.V1.Workload { SpiffeId = AgentX },
            Tool = new PolicyPoint.V1.Tool { Server = "secure-filesystem-server", Name = "read_text_file" },
            Session = new PolicyPoint.V1.Session { SessionId = "e2e-check-latency-" + Guid.NewGuid().ToString("N")[..8] },
        };
        request.Tool.Arguments = new Google.Protobuf.WellKnownTypes.Struct { Fields = { ["path"] = Google.Protobuf.WellKnownTypes.Value.ForString($"{Root}/workspace/notes.txt") } };
        await client.CheckAsync(request);
        var ms = new List<double>();
        for (var i = 0; i < calls; i++)
        {
            var sw = Stopwatch.StartNew();
            var r = await client.CheckAsync(request);
            ms.Add(sw.Elapsed.TotalMilliseconds);
            Assert.That(r.Decision, Is.EqualTo(PolicyPoint.V1.Decision.Allow), r.ToString());
        }
        ms.Sort();
        return $"calls={calls} mean={ms.Average():F3}ms p50={ms[ms.Count / 2]:F3}ms p95={ms[(int)(ms.Count * 0.95)]:F3}ms";
    }

    private static List<string> Codes(JsonObject step) => step["reasons"]!.AsArray().Select(r => r!.GetValue<string>()).ToList();

    [Test]
    public async Task Csharp_client_against_the_sample_server_with_the_sdk_filter()
    {
        PrepareTree();
        var sampleDll = E2eEnvironment.BuiltDll("SampleMcpServer", "SampleMcpServer.dll");

        await using (var x = await ConnectSample(sampleDll, AgentX))
        {
            var tools = await x.ListToolsAsync();
            Assert.That(tools.Select(t => t.Name), Is.SupersetOf(new[] { "read_text_file", "write_file", "list_directory" }));

            var read = await x.CallToolAsync("read_text_file", Args(("path", $"{Root}/workspace/notes.txt")));
            Assert.That(read.IsError, Is.Not.True, Text(read));
            Assert.That(Text(read), Does.Contain("ship the PDP"));

            var outside = await x.CallToolAsync("write_file", Args(("path", $"{Root}/elsewhere/x.txt"), ("content", "no")));
            Assert.That(outside.IsError, Is.True);
            Assert.That(Text(outside), Does.Contain("DENY").And.Contain("argument_not_allowed"));
            Assert.That(File.Exists($"{Root}/elsewhere/x.txt"), Is.False);

            var secret = await x.CallToolAsync("read_text_file", Args(("path", $"{Root}/workspace/secrets/api-keys.txt")));
            Assert.That(secret.IsError, Is.Not.True, Text(secret));

            var egress = await x.CallToolAsync("write_file", Args(("path", $"{Root}/outbox/summary.txt"), ("content", "keys")));
            Assert.That(Text(egress), Does.Contain("egress_after_sensitive_read"));
            Assert.That(File.Exists($"{Root}/outbox/summary.txt"), Is.False);

            var destructive = await x.CallToolAsync("write_file", Args(("path", $"{Root}/workspace/report.txt"), ("content", "overwrite")));
            Assert.That(destructive.IsError, Is.True);
            Assert.That(Text(destructive), Does.Contain("REQUIRE_APPROVAL").And.Contain("approval_required"));
            Assert.That(File.Exists($"{Root}/workspace/report.txt"), Is.False);

            var lastId = DecisionId(destructive);
            var session = await _env.SessionOfAsync(lastId);
            Assert.That(session, Is.Not.Null, "the decision the client saw is in compliance.decision_chain");
            var chain = await _env.ChainAsync(session!);
            Assert.That(chain.Select(r => (r.Tool, r.Decision)), Is.EqualTo(new[]
            {
                ("read_text_file", "allow"), ("write_file", "deny"), ("read_text_file", "allow"), ("write_file", "deny"), ("write_file", "require_approval"),
            }));
            for (var i = 1; i < chain.Count; i++) Assert.That(chain[i].ParentDecisionId, Is.EqualTo(chain[i - 1].DecisionId));
            Assert.That(chain[^1].DecisionId, Is.EqualTo(lastId));
        }

        await using (var y = await ConnectSample(sampleDll, AgentY))
        {
            var denied = await y.CallToolAsync("write_file", Args(("path", $"{Root}/elsewhere/x.txt"), ("content", "no")));
            Assert.That(Text(denied), Does.Contain("no_grant"));
            Assert.That(File.Exists($"{Root}/elsewhere/x.txt"), Is.False);
        }
    }

    private static void PrepareTree()
    {
        if (Directory.Exists(Root)) Directory.Delete(Root, recursive: true);
        foreach (var d in new[] { "workspace/secrets", "outbox", "elsewhere" }) Directory.CreateDirectory(Path.Combine(Root, d));
        File.WriteAllText($"{Root}/workspace/notes.txt", "meeting notes: ship the PDP\n");
        File.WriteAllText($"{Root}/workspace/secrets/api-keys.txt", "API_KEY=not-a-real-key\n");
    }

    private async Task<McpClient> ConnectSample(string sampleDll, string identity) =>
        await McpClient.CreateAsync(new StdioClientTransport(new StdioClientTransportOptions
        {
            Name = "sample",
            Command = "dotnet",
            Arguments = [sampleDll, Root],
            EnvironmentVariables = new Dictionary<string, string?>
            {
                ["POLICYPOINT_IDENTITY"] = identity,
                ["POLICYPOINT_PDP"] = _env.PdpAddress.ToString(),
            },
            StandardErrorLines = line => TestContext.Progress.WriteLine("[sample] " + line),
        }));

    private static Dictionary<string, object?> Args(params (string Key, object? Value)[] pairs) => pairs.ToDictionary(p => p.Key, p => p.Value);

    private static string Text(CallToolResult r) => string.Join("\n", r.Content.OfType<TextContentBlock>().Select(c => c.Text));

    private static string DecisionId(CallToolResult r) =>
        r.Meta?[PolicyPointDenial.MetaKey]?["decision_id"]?.GetValue<string>() ?? throw new AssertionException("no policypoint/decision in _meta: " + Text(r));
}
