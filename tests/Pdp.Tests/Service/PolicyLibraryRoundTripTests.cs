using Dapper;
using Google.Protobuf.WellKnownTypes;
using Npgsql;
using Pdp.Service;
using Pdp.Tests.Infrastructure;
using PolicyPoint.V1;

namespace Pdp.Tests.Service;

/// <summary>
/// The PDP as deployed: the repository's rego/ library on the embedded engine, decisions logged in a real
/// PostgreSQL. Checks that the input document the PDP builds is the one the library expects, including the
/// session history that only the PDP supplies.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class PolicyLibraryRoundTripTests
{
    private PostgresCluster _pg = null!;
    private InProcessPdp _pdp = null!;

    [OneTimeSetUp]
    public async Task Start()
    {
        _pg = await PostgresCluster.CreateAsync();
        _pdp = await InProcessPdp.StartAsync(new PdpServerOptions
        {
            Policy = Path.Combine(RepoRoot(), "rego"),
            Db = _pg.ConnectionString,
            Spool = Path.Combine(_pg.Directory, "spool"),
        });
        var health = new Grpc.Health.V1.Health.HealthClient(_pdp.Channel);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while ((await health.CheckAsync(new Grpc.Health.V1.HealthCheckRequest())).Status != Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving)
        {
            if (DateTime.UtcNow > deadline) Assert.Fail("rego/ did not load within 60 s");
            await Task.Delay(200);
        }
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        if (_pdp is not null) await _pdp.DisposeAsync();
        if (_pg is not null) await _pg.DisposeAsync();
    }

    private static string RepoRoot()
    {
        foreach (var start in new[] { Environment.GetEnvironmentVariable("POLICYPOINT_ROOT"), AppContext.BaseDirectory, Environment.CurrentDirectory }.OfType<string>())
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "rego", "data.yaml"))) return d.FullName;
        throw new FileNotFoundException("rego/data.yaml not found above the test directory; set POLICYPOINT_ROOT");
    }

    private static CheckRequest Call(string spiffe, string tool, string path, string? session = null) => new()
    {
        Workload = new Workload { SpiffeId = spiffe },
        Tool = new Tool { Server = "filesystem", Name = tool, Arguments = new Struct { Fields = { ["path"] = Value.ForString(path) } } },
        Credential = new Credential
        {
            Id = "jit-1", Kind = CredentialKind.Jit,
            IssuedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(-1)),
            ExpiresAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(30)),
        },
        Session = session is null ? null : new Session { SessionId = session },
    };

    private const string AgentX = "spiffe://example.org/agent/x";
    private const string Workspace = "/tmp/policypoint-demo/workspace";

    [Test]
    public async Task Allow_require_approval_and_deny_from_the_library_leave_their_rows()
    {
        var allow = await _pdp.Authorization.CheckAsync(Call(AgentX, "read_text_file", $"{Workspace}/notes.txt"));
        var approval = await _pdp.Authorization.CheckAsync(Call(AgentX, "write_file", $"{Workspace}/notes.txt"));
        var deny = await _pdp.Authorization.CheckAsync(Call("spiffe://example.org/agent/stranger", "read_text_file", $"{Workspace}/notes.txt"));

        Assert.That(allow.Decision, Is.EqualTo(Decision.Allow), string.Join("; ", allow.Reasons));
        Assert.That(allow.Reasons.Select(r => r.Code), Does.Contain("granted"));
        Assert.That(approval.Decision, Is.EqualTo(Decision.RequireApproval), string.Join("; ", approval.Reasons));
        Assert.That(approval.Obligations.Fields.ContainsKey("approval"), Is.True);
        Assert.That(deny.Decision, Is.EqualTo(Decision.Deny));
        Assert.That(deny.Reasons.Select(r => r.Code), Does.Contain("no_grant"));
        Assert.That(allow.PolicyRevision, Does.StartWith("sha256:"));

        await using var db = new NpgsqlConnection(_pg.ConnectionString);
        var rows = (await db.QueryAsync<(string decision_id, string decision)>(
            "SELECT decision_id, decision FROM decisions WHERE decision_id = ANY(@ids)",
            new { ids = new[] { allow.DecisionId, approval.DecisionId, deny.DecisionId } })).ToDictionary(r => r.decision_id, r => r.decision);
        Assert.That(rows[allow.DecisionId], Is.EqualTo("allow"));
        Assert.That(rows[approval.DecisionId], Is.EqualTo("require_approval"));
        Assert.That(rows[deny.DecisionId], Is.EqualTo("deny"));
    }

    [Test]
    public async Task Egress_after_a_sensitive_read_in_the_same_session_is_denied_from_the_pdps_own_history()
    {
        var session = "sess-chain-" + Guid.NewGuid().ToString("N")[..8];
        var read = await _pdp.Authorization.CheckAsync(Call(AgentX, "read_text_file", $"{Workspace}/secrets/key.txt", session));
        Assert.That(read.Decision, Is.EqualTo(Decision.Allow), string.Join("; ", read.Reasons));

        // Writing to the outbox is egress; after the sensitive read in this session it is refused.
        var send = await _pdp.Authorization.CheckAsync(Call(AgentX, "write_file", "/tmp/policypoint-demo/outbox/key.txt", session));
        Assert.That(send.Decision, Is.EqualTo(Decision.Deny));
        Assert.That(send.Reasons.Select(r => r.Code), Does.Contain("egress_after_sensitive_read"));

        // The same write in a fresh session is not refused for that reason.
        var fresh = await _pdp.Authorization.CheckAsync(Call(AgentX, "write_file", "/tmp/policypoint-demo/outbox/key.txt", session + "-other"));
        Assert.That(fresh.Reasons.Select(r => r.Code), Does.Not.Contain("egress_after_sensitive_read"));
    }
}
