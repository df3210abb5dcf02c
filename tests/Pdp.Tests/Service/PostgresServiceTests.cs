using Dapper;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Npgsql;
using Pdp.Service;
using Pdp.Storage;
using Pdp.Tests.Infrastructure;
using PolicyPoint.V1;

namespace Pdp.Tests.Service;

/// <summary>
/// The PDP against a real PostgreSQL (throwaway cluster, migrated at start-up by the host): the rows Checks leave,
/// request_id idempotency in the table, invalid refusals as rows, and the DecisionLogService read side.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class PostgresServiceTests
{
    private PostgresCluster _pg = null!;
    private FakePolicyEngine _engine = null!;
    private InProcessPdp _pdp = null!;

    [OneTimeSetUp]
    public async Task Start()
    {
        _pg = await PostgresCluster.CreateAsync();
        _engine = new FakePolicyEngine();
        _pdp = await InProcessPdp.StartAsync(new PdpServerOptions
        {
            PolicyEngine = _engine,
            Db = _pg.ConnectionString,
            Spool = Path.Combine(_pg.Directory, "spool"),
        });
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        if (_pdp is not null) await _pdp.DisposeAsync();
        if (_pg is not null) await _pg.DisposeAsync();
    }

    private async Task<NpgsqlConnection> Db()
    {
        var conn = new NpgsqlConnection(_pg.ConnectionString);
        await conn.OpenAsync();
        return conn;
    }

    private static CheckRequest Request(string tool, string? session = null, string? parent = null)
    {
        var r = CheckServiceTests.ValidRequest(tool);
        if (session is not null) r.Session = new Session { SessionId = session, ParentDecisionId = parent ?? "" };
        return r;
    }

    [Test]
    public async Task Allow_deny_and_require_approval_leave_one_row_each_with_their_fields()
    {
        _engine.Decide = input => input["tool"]!["name"]!.GetValue<string>() switch
        {
            "pg_read" => FakePolicyEngine.Result("""{"allow": true, "obligations": {"log": true}, "labels": ["pii"]}""", "rev-pg"),
            "pg_delete" => FakePolicyEngine.Result("""{"require_approval": true, "reasons": [{"code": "destructive", "message": "ask"}]}""", "rev-pg"),
            _ => FakePolicyEngine.Result("""{"allow": false, "reasons": [{"code": "no_grant", "message": "no", "rule": "data.p.deny"}]}""", "rev-pg"),
        };
        var allow = await _pdp.Authorization.CheckAsync(Request("pg_read"));
        var approval = await _pdp.Authorization.CheckAsync(Request("pg_delete"));
        var deny = await _pdp.Authorization.CheckAsync(Request("pg_send"));
        Assert.That(new[] { allow.Decision, approval.Decision, deny.Decision },
            Is.EqualTo(new[] { Decision.Allow, Decision.RequireApproval, Decision.Deny }));

        await using var db = await Db();
        var rows = (await db.QueryAsync<(string decision_id, string tool, string decision, string policy_revision, string credential_kind, string reasons, string? obligations, string[] labels, string spiffe_id)>(
            "SELECT decision_id, tool, decision, policy_revision, credential_kind, reasons::text, obligations::text, labels, spiffe_id FROM decisions WHERE decision_id = ANY(@ids) ORDER BY decided_at",
            new { ids = new[] { allow.DecisionId, approval.DecisionId, deny.DecisionId } })).ToList();
        Assert.That(rows.Select(r => r.decision_id), Is.EqualTo(new[] { allow.DecisionId, approval.DecisionId, deny.DecisionId }));
        Assert.That(rows.Select(r => r.decision), Is.EqualTo(new[] { "allow", "require_approval", "deny" }));
        Assert.That(rows.All(r => r.policy_revision == "rev-pg" && r.credential_kind == "jit" && r.spiffe_id == "spiffe://example.org/agent/alpha"));
        Assert.That(rows[0].obligations, Does.Contain("\"log\": true"));
        Assert.That(rows[0].labels, Is.EqualTo(new[] { "pii" }));
        Assert.That(rows[2].reasons, Does.Contain("no_grant").And.Contain("data.p.deny"));
    }

    [Test]
    public async Task Records_of_checks_with_awkward_json_verify_from_the_stored_rows()
    {
        // The Check path writes record JSON in canonical form itself (the log does not parse it again); the chain
        // must still verify from what jsonb gives back: exponents, big and tiny doubles, escapes, non-ASCII text.
        _engine.Decide = _ => FakePolicyEngine.Result(
            """{"allow": true, "obligations": {"max_rows": 1e3, "ratio": 0.000015, "note": "é\t\u0001 💡", "nested": {"b": [1.5E+21, -0.0]}}}""", "rev-json");
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            var r = Request("json_tool", session: "sess-json");
            r.Context = Struct.Parser.ParseJson("""{"size": 1.5e-7, "big": 1e21, "label": "line\nbreak \"quoted\" \\ back", "list": [true, null, 3]}""");
            r.Tool.Annotations["title"] = "Ünïcode \u2028 title";
            r.Workload.Attributes["zone"] = "eu\u0000west";
            r.Tool.Arguments.Fields["n"] = Value.ForNumber(i + 0.25);
            var response = await _pdp.Authorization.CheckAsync(r);
            Assert.That(response.Decision, Is.EqualTo(Decision.Allow));
            Assert.That(response.Obligations.Fields["ratio"].NumberValue, Is.EqualTo(0.000015));
            ids.Add(response.DecisionId);
        }
        await using var db = await Db();
        var writer = await db.ExecuteScalarAsync<string>("SELECT writer_id FROM decisions WHERE decision_id = @id", new { id = ids[0] });
        var v = await Pdp.DecisionLog.ChainVerifier.VerifyAsync(_pg.ConnectionString, writer);
        Assert.That(v.Ok, Is.True, v.Broken?.ToString());
        Assert.That(v.Records, Is.GreaterThanOrEqualTo(ids.Count));
        var context = await db.ExecuteScalarAsync<string>("SELECT context::text FROM decisions WHERE decision_id = @id", new { id = ids[0] });
        Assert.That(context, Does.Contain("0.00000015").And.Contain("1000000000000000000000"));
    }

    [Test]
    public async Task Repeated_request_id_is_one_row()
    {
        _engine.Decide = _ => FakePolicyEngine.Result("""{"allow": true}""");
        var request = Request("pg_idem");
        request.RequestId = "pg-req-1";
        var first = await _pdp.Authorization.CheckAsync(request);
        var second = await _pdp.Authorization.CheckAsync(request);
        Assert.That(second.DecisionId, Is.EqualTo(first.DecisionId));
        await using var db = await Db();
        Assert.That(await db.ExecuteScalarAsync<long>("SELECT count(*) FROM decisions WHERE request_id = 'pg-req-1'"), Is.EqualTo(1));
    }

    [Test]
    public async Task Invalid_requests_leave_an_invalid_row()
    {
        var request = Request("pg_bad");
        request.RequestId = "pg-invalid-1";
        request.Credential.Kind = (CredentialKind)42;
        var e = Assert.ThrowsAsync<RpcException>(async () => await _pdp.Authorization.CheckAsync(request));
        Assert.That(e!.StatusCode, Is.EqualTo(StatusCode.InvalidArgument));
        await using var db = await Db();
        var row = await db.QuerySingleAsync<(string decision, string reasons, string tool)>(
            "SELECT decision, reasons::text, tool FROM decisions WHERE request_id = 'pg-invalid-1'");
        Assert.That(row.decision, Is.EqualTo("invalid"));
        Assert.That(row.reasons, Does.Contain("credential.kind"));
        Assert.That(row.tool, Is.EqualTo("pg_bad"));
    }

    [Test]
    public async Task In_journal_mode_a_decision_read_or_given_an_outcome_right_after_the_check_is_found()
    {
        // The PEP's usual sequence: Check, run the tool, ReportOutcome. In journal mode the decision may still be
        // on its way from the spool to PostgreSQL when the outcome arrives; the outcome must not be refused.
        _engine.Decide = _ => FakePolicyEngine.Result("""{"allow": true}""");
        await using var journal = await InProcessPdp.StartAsync(new PdpServerOptions
        {
            PolicyEngine = _engine,
            Db = _pg.ConnectionString,
            Spool = Path.Combine(_pg.Directory, "spool-journal-outcome"),
            LogAck = Pdp.DecisionLog.DecisionLogAck.Journal,
        });
        var session = "sess-" + Guid.NewGuid().ToString("N");
        for (var i = 0; i < 20; i++)
        {
            var decision = await journal.Authorization.CheckAsync(Request($"fast_tool_{i}", session));
            if (i % 2 == 0)   // the investigator's read right after the answer waits for the decision too
                Assert.That((await journal.DecisionLog.GetDecisionAsync(new GetDecisionRequest { DecisionId = decision.DecisionId })).Tool.Name,
                    Is.EqualTo($"fast_tool_{i}"));
            await journal.DecisionLog.ReportOutcomeAsync(new ReportOutcomeRequest { DecisionId = decision.DecisionId, Status = "executed" });
            var got = await journal.DecisionLog.GetDecisionAsync(new GetDecisionRequest { DecisionId = decision.DecisionId });
            Assert.That(got.Outcomes.Select(o => o.Status), Is.EqualTo(new[] { "executed" }));
        }
    }

    [Test]
    public async Task Decision_log_service_reads_decisions_chains_and_outcomes()
    {
        _engine.Decide = input => FakePolicyEngine.Result(
            input["tool"]!["name"]!.GetValue<string>() == "chain_b" ? """{"allow": false}""" : """{"allow": true}""");
        var session = "sess-" + Guid.NewGuid().ToString("N");
        var a = await _pdp.Authorization.CheckAsync(Request("chain_a", session));
        var b = await _pdp.Authorization.CheckAsync(Request("chain_b", session, a.DecisionId));
        var c = await _pdp.Authorization.CheckAsync(Request("chain_c", session, a.DecisionId));
        await _pdp.DecisionLog.ReportOutcomeAsync(new ReportOutcomeRequest { DecisionId = a.DecisionId, Status = "executed", Detail = "ok" });

        var got = await _pdp.DecisionLog.GetDecisionAsync(new GetDecisionRequest { DecisionId = a.DecisionId });
        Assert.That(got.Tool.Name, Is.EqualTo("chain_a"));
        Assert.That(got.Decision, Is.EqualTo(Decision.Allow));
        Assert.That(got.Workload.Attributes["team"], Is.EqualTo("red"));
        Assert.That(got.Outcomes.Single().Status, Is.EqualTo("executed"));

        var chain = await _pdp.DecisionLog.GetChainAsync(new GetChainRequest { DecisionId = c.DecisionId });
        Assert.That(chain.Decisions.Select(d => d.DecisionId), Is.EqualTo(new[] { a.DecisionId, b.DecisionId, c.DecisionId }));
        Assert.That(chain.Decisions[1].ParentDecisionId, Is.EqualTo(a.DecisionId));
        Assert.That(chain.Decisions[0].Outcomes, Has.Count.EqualTo(1));
        var bySession = await _pdp.DecisionLog.GetChainAsync(new GetChainRequest { SessionId = session });
        Assert.That(bySession.Decisions, Has.Count.EqualTo(3));

        // Paging: newest first, two per page, filtered to the session.
        var page1 = await _pdp.DecisionLog.ListDecisionsAsync(new ListDecisionsRequest { SessionId = session, PageSize = 2 });
        Assert.That(page1.Decisions.Select(d => d.DecisionId), Is.EqualTo(new[] { c.DecisionId, b.DecisionId }));
        Assert.That(page1.NextPageToken, Is.Not.Empty);
        var page2 = await _pdp.DecisionLog.ListDecisionsAsync(new ListDecisionsRequest { SessionId = session, PageSize = 2, PageToken = page1.NextPageToken });
        Assert.That(page2.Decisions.Select(d => d.DecisionId), Is.EqualTo(new[] { a.DecisionId }));
        Assert.That(page2.NextPageToken, Is.Empty);
        var denied = await _pdp.DecisionLog.ListDecisionsAsync(new ListDecisionsRequest { SessionId = session, Decision = Decision.Deny });
        Assert.That(denied.Decisions.Select(d => d.DecisionId), Is.EqualTo(new[] { b.DecisionId }));
        var window = await _pdp.DecisionLog.ListDecisionsAsync(new ListDecisionsRequest
        {
            SessionId = session, From = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddHours(1)),
        });
        Assert.That(window.Decisions, Is.Empty);

        await using var db = await Db();
        Assert.That(await db.ExecuteScalarAsync<long>("SELECT count(*) FROM outcomes WHERE decision_id = @id", new { id = a.DecisionId }), Is.EqualTo(1));
    }

    [Test]
    public void Decision_log_service_refuses_bad_ids_and_unknown_decisions()
    {
        var bad = Assert.ThrowsAsync<RpcException>(async () => await _pdp.DecisionLog.GetDecisionAsync(new GetDecisionRequest { DecisionId = "x" }));
        Assert.That(bad!.StatusCode, Is.EqualTo(StatusCode.InvalidArgument));
        var missing = Assert.ThrowsAsync<RpcException>(async () => await _pdp.DecisionLog.GetDecisionAsync(new GetDecisionRequest { DecisionId = Guid.CreateVersion7().ToString() }));
        Assert.That(missing!.StatusCode, Is.EqualTo(StatusCode.NotFound));
        var outcome = Assert.ThrowsAsync<RpcException>(async () => await _pdp.DecisionLog.ReportOutcomeAsync(
            new ReportOutcomeRequest { DecisionId = Guid.CreateVersion7().ToString(), Status = "executed" }));
        Assert.That(outcome!.StatusCode, Is.EqualTo(StatusCode.NotFound));
        var page = Assert.ThrowsAsync<RpcException>(async () => await _pdp.DecisionLog.ListDecisionsAsync(new ListDecisionsRequest { PageSize = 5000 }));
        Assert.That(page!.StatusCode, Is.EqualTo(StatusCode.InvalidArgument));
        var token = Assert.ThrowsAsync<RpcException>(async () => await _pdp.DecisionLog.ListDecisionsAsync(new ListDecisionsRequest { PageToken = "!!" }));
        Assert.That(token!.StatusCode, Is.EqualTo(StatusCode.InvalidArgument));
    }
}
