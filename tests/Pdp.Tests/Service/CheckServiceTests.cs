using System.Text.Json.Nodes;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Health.V1;
using Pdp.Policy;
using Pdp.Service;
using PolicyPoint.V1;

namespace Pdp.Tests.Service;

/// <summary>Check over a real gRPC channel against an in-process PDP with a programmable engine and an in-memory log.</summary>
[TestFixture]
public sealed class CheckServiceTests
{
    private FakePolicyEngine _engine = null!;
    private InMemoryDecisionLog _log = null!;
    private InProcessPdp _pdp = null!;

    [SetUp]
    public async Task Start()
    {
        _engine = new FakePolicyEngine();
        _log = new InMemoryDecisionLog();
        _pdp = await InProcessPdp.StartAsync(new PdpServerOptions { PolicyEngine = _engine, DecisionLog = _log });
    }

    [TearDown]
    public async Task Stop() => await _pdp.DisposeAsync();

    internal static CheckRequest ValidRequest(string tool = "read_file") => new()
    {
        Workload = new Workload { SpiffeId = "spiffe://example.org/agent/alpha", Attributes = { ["team"] = "red" } },
        Tool = new Tool
        {
            Server = "filesystem", Name = tool,
            Arguments = Struct.Parser.ParseJson("""{"path": "/tmp/a.txt", "limit": 10, "opts": {"deep": [1, 2.5, "x"]}}"""),
            Annotations = { ["readOnlyHint"] = "true" },
        },
        Resource = new Resource { Type = "file", Id = "/tmp/a.txt", Sensitivity = "internal" },
        Context = Struct.Parser.ParseJson("""{"purpose": "support", "size": 12}"""),
        Credential = new Credential
        {
            Id = "cred-1", Kind = CredentialKind.Jit,
            IssuedAt = Timestamp.FromDateTimeOffset(new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero)),
            ExpiresAt = new Timestamp { Seconds = 1767326645, Nanos = 500_000_000 },
            Scopes = { "files:read" },
        },
        OnBehalfOf = new OnBehalfOf { Subject = "alice@example.org" },
    };

    [Test]
    public async Task Metrics_give_the_decide_time_the_wait_for_the_log_and_the_outcome()
    {
        var measured = new System.Collections.Concurrent.ConcurrentQueue<(string Name, double Value, string? Decision)>();
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == PdpMetrics.MeterName) l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<double>((i, v, tags, _) => measured.Enqueue((i.Name, v, null)));
        listener.SetMeasurementEventCallback<long>((i, v, tags, _) =>
        {
            string? decision = null;
            foreach (var t in tags) if (t.Key == "decision") decision = t.Value as string;
            measured.Enqueue((i.Name, v, decision));
        });
        listener.Start();
        await _pdp.Authorization.CheckAsync(ValidRequest("warm_up"));   // first-call costs out of the way
        measured.Clear();
        // A wait far longer than deciding takes, even on a loaded machine compiling the deny path for the first time.
        _log.AppendDelay = TimeSpan.FromMilliseconds(250);
        _engine.Decide = _ => FakePolicyEngine.Result("""{"allow": false, "reasons": [{"code": "no_grant", "message": "no"}]}""");

        await _pdp.Authorization.CheckAsync(ValidRequest("metrics_tool"));

        var all = measured.ToArray();
        var append = all.Where(m => m.Name == "pdp.decision_log.append.duration").Select(m => m.Value).ToList();
        var decide = all.Where(m => m.Name == "pdp.check.decide.duration").Select(m => m.Value).ToList();
        Assert.That(append, Has.Count.EqualTo(1).And.All.GreaterThanOrEqualTo(0.245), "the answer waited for the slow log");
        Assert.That(decide, Has.Count.EqualTo(1).And.All.GreaterThan(0).And.All.LessThan(append[0]), "deciding does not include the log's wait");
        Assert.That(all.Where(m => m.Name == "pdp.decisions").Select(m => m.Decision), Does.Contain("deny"));
    }

    [Test]
    public async Task Allow_returns_decision_id_revision_obligations_and_leaves_one_record()
    {
        _engine.Decide = _ => FakePolicyEngine.Result(
            """{"allow": true, "exception": "break-glass/INC-7", "obligations": {"redact": ["ssn"]}, "labels": ["pii"], "reasons": [{"code": "grant", "message": "granted", "rule": "data.x.allow"}]}""", "rev-9");
        var response = await _pdp.Authorization.CheckAsync(ValidRequest());

        Assert.That(response.Decision, Is.EqualTo(Decision.Allow));
        Assert.That(Guid.TryParse(response.DecisionId, out var id), Is.True);
        Assert.That(id.Version, Is.EqualTo(7));
        Assert.That(response.PolicyRevision, Is.EqualTo("rev-9"));
        Assert.That(response.ExceptionPath, Is.EqualTo("break-glass/INC-7"));
        Assert.That(response.Obligations.Fields["redact"].ListValue.Values[0].StringValue, Is.EqualTo("ssn"));
        Assert.That(response.Reasons.Single().Rule, Is.EqualTo("data.x.allow"));

        var record = _log.Records.Single();
        Assert.That(record.DecisionId, Is.EqualTo(response.DecisionId));
        Assert.That(record.Decision, Is.EqualTo("allow"));
        Assert.That(record.PolicyRevision, Is.EqualTo("rev-9"));
        Assert.That(record.Labels, Is.EqualTo(new[] { "pii" }));
        Assert.That(record.CredentialKind, Is.EqualTo("jit"));
        Assert.That(record.Tool, Is.EqualTo("read_file"));
        Assert.That(record.InputHash, Has.Length.EqualTo(64));
        Assert.That(record.ObligationsJson, Is.EqualTo("""{"redact":["ssn"]}"""));
        // Arguments are masked in the logged input: keys kept, values replaced by type and size.
        var masked = JsonNode.Parse(record.MaskedInputJson!)!;
        Assert.That(masked["tool"]!["arguments"]!["path"]!.GetValue<string>(), Is.EqualTo("string(10)"));
        Assert.That(record.MaskedInputJson, Does.Not.Contain("/tmp/a.txt\",\"limit"));
    }

    [Test]
    public async Task Deny_and_require_approval_map_from_the_decision_object()
    {
        _engine.Decide = _ => FakePolicyEngine.Result("""{"allow": false, "reasons": [{"code": "no_grant", "message": "no grant"}]}""");
        var deny = await _pdp.Authorization.CheckAsync(ValidRequest());
        Assert.That(deny.Decision, Is.EqualTo(Decision.Deny));
        Assert.That(deny.Reasons.Single().Code, Is.EqualTo("no_grant"));

        _engine.Decide = _ => FakePolicyEngine.Result("""{"allow": false, "require_approval": true, "reasons": [{"code": "destructive", "message": "needs a human"}]}""");
        var approval = await _pdp.Authorization.CheckAsync(ValidRequest("delete_file"));
        Assert.That(approval.Decision, Is.EqualTo(Decision.RequireApproval));

        _engine.Decide = _ => FakePolicyEngine.Result("""{"allow": false}""");
        var bare = await _pdp.Authorization.CheckAsync(ValidRequest());
        Assert.That(bare.Decision, Is.EqualTo(Decision.Deny));
        Assert.That(bare.Reasons.Single().Code, Is.EqualTo("default_deny"));

        Assert.That(_log.Records.Select(r => r.Decision), Is.EqualTo(new[] { "deny", "require_approval", "deny" }));
    }

    [TestCase(null, "policy_undefined")]
    [TestCase("error", "policy_error")]
    [TestCase("[true]", "policy_error")]
    [TestCase("""{"allow": "yes"}""", "policy_error")]
    [TestCase("""{"allow": true, "obligations": [1]}""", "policy_error")]
    public async Task Undefined_errors_and_malformed_decisions_deny(string? result, string code)
    {
        _engine.Decide = _ => result switch
        {
            null => new PolicyEvaluation(null, false, "rev-1", null, 1),
            "error" => PolicyEvaluation.Failed("rev-1", "eval_conflict_error: complete rules must not produce multiple outputs", 1),
            _ => FakePolicyEngine.Result(result),
        };
        var response = await _pdp.Authorization.CheckAsync(ValidRequest());
        Assert.That(response.Decision, Is.EqualTo(Decision.Deny));
        Assert.That(response.Reasons.Select(r => r.Code), Does.Contain(code));
        Assert.That(_log.Records.Single().Decision, Is.EqualTo("deny"));
    }

    [Test]
    public async Task Audit_unavailable_denies_without_a_decision_id()
    {
        _log.Unavailable = true;
        var response = await _pdp.Authorization.CheckAsync(ValidRequest());
        Assert.That(response.Decision, Is.EqualTo(Decision.Deny));
        Assert.That(response.Reasons.Single().Code, Is.EqualTo("audit_unavailable"));
        Assert.That(response.DecisionId, Is.Empty);
    }

    [Test]
    public async Task Input_document_mirrors_the_request_in_snake_case()
    {
        var request = ValidRequest();
        request.Session = new Session { SessionId = "sess-1", ParentDecisionId = "0199a0f0-0000-7000-8000-000000000001" };
        request.RequestId = "req-input";
        await _pdp.Authorization.CheckAsync(request);
        var input = _engine.Inputs.Single();

        Assert.That(input["workload"]!["spiffe_id"]!.GetValue<string>(), Is.EqualTo("spiffe://example.org/agent/alpha"));
        Assert.That(input["workload"]!["attributes"]!["team"]!.GetValue<string>(), Is.EqualTo("red"));
        Assert.That(input["tool"]!["server"]!.GetValue<string>(), Is.EqualTo("filesystem"));
        Assert.That(input["tool"]!["arguments"]!["limit"]!.GetValue<long>(), Is.EqualTo(10));
        Assert.That(input["tool"]!["arguments"]!["opts"]!["deep"]![1]!.GetValue<double>(), Is.EqualTo(2.5));
        Assert.That(input["tool"]!["annotations"]!["readOnlyHint"]!.GetValue<string>(), Is.EqualTo("true"));
        Assert.That(input["resource"]!["sensitivity"]!.GetValue<string>(), Is.EqualTo("internal"));
        Assert.That(input["context"]!["purpose"]!.GetValue<string>(), Is.EqualTo("support"));
        Assert.That(input["credential"]!["kind"]!.GetValue<string>(), Is.EqualTo("jit"));
        Assert.That(input["credential"]!["issued_at"]!.GetValue<string>(), Is.EqualTo("2026-01-02T03:04:05Z"));
        Assert.That(input["credential"]!["issued_at_ns"]!.GetValue<long>(), Is.EqualTo(1767323045L * 1_000_000_000));
        Assert.That(input["credential"]!["expires_at"]!.GetValue<string>(), Is.EqualTo("2026-01-02T04:04:05.5Z"));
        Assert.That(input["credential"]!["expires_at_ns"]!.GetValue<long>(), Is.EqualTo(1767326645L * 1_000_000_000 + 500_000_000));
        Assert.That(input["session"]!["session_id"]!.GetValue<string>(), Is.EqualTo("sess-1"));
        Assert.That(input["session"]!["parent_decision_id"]!.GetValue<string>(), Is.EqualTo("0199a0f0-0000-7000-8000-000000000001"));
        Assert.That(input["session"]!["history"]!.AsArray(), Is.Empty);
        Assert.That(input["on_behalf_of"]!["subject"]!.GetValue<string>(), Is.EqualTo("alice@example.org"));
        Assert.That(input["request"]!["id"]!.GetValue<string>(), Is.EqualTo("req-input"));
        var time = DateTimeOffset.Parse(input["request"]!["time"]!.GetValue<string>());
        Assert.That(time, Is.EqualTo(DateTimeOffset.UtcNow).Within(TimeSpan.FromMinutes(1)));
        var ns = input["request"]!["time_ns"]!.GetValue<long>();
        Assert.That(DateTimeOffset.UnixEpoch.AddTicks(ns / 100), Is.EqualTo(time).Within(TimeSpan.FromMilliseconds(1)));
    }

    [Test]
    public async Task Session_history_holds_the_pdps_own_earlier_decisions_and_is_loaded_from_the_log_on_a_miss()
    {
        // An earlier decision of the session that only the log knows (e.g. made before a restart).
        _log.Seed(new Pdp.DecisionLog.DecisionRecord
        {
            DecisionId = Guid.CreateVersion7().ToString(), DecidedAt = DateTimeOffset.UtcNow.AddMinutes(-1), SessionId = "sess-h",
            Tool = "search", Server = "web", Decision = "allow", Labels = ["public"], PolicyRevision = "rev-0", InputHash = new string('0', 64),
        });
        _engine.Decide = input => FakePolicyEngine.Result(
            input["tool"]!["name"]!.GetValue<string>() == "read_file"
                ? """{"allow": true, "labels": ["sensitive"]}""" : """{"allow": false}""");
        var first = ValidRequest();
        first.Session = new Session { SessionId = "sess-h" };
        var r1 = await _pdp.Authorization.CheckAsync(first);
        var second = ValidRequest("send_email");
        second.Session = new Session { SessionId = "sess-h", ParentDecisionId = r1.DecisionId };
        // A caller cannot smuggle history: there is no such field, and extra context does not reach session.history.
        second.Context = Struct.Parser.ParseJson("""{"history": [{"decision": "allow"}]}""");
        await _pdp.Authorization.CheckAsync(second);

        var inputs = _engine.Inputs.ToArray();
        var h1 = inputs[0]["session"]!["history"]!.AsArray();
        Assert.That(h1.Select(h => h!["tool"]!.GetValue<string>()), Is.EqualTo(new[] { "search" }));
        var h2 = inputs[1]["session"]!["history"]!.AsArray();
        Assert.That(h2.Select(h => h!["tool"]!.GetValue<string>()), Is.EqualTo(new[] { "search", "read_file" }));
        Assert.That(h2[1]!["decision_id"]!.GetValue<string>(), Is.EqualTo(r1.DecisionId));
        Assert.That(h2[1]!["decision"]!.GetValue<string>(), Is.EqualTo("allow"));
        Assert.That(h2[1]!["labels"]![0]!.GetValue<string>(), Is.EqualTo("sensitive"));
        Assert.That(h2[1]!["resource"]!["id"]!.GetValue<string>(), Is.EqualTo("/tmp/a.txt"));
        Assert.That(_log.SessionLoads, Is.EqualTo(1), "the second Check of the session is served from the cache");
    }

    [Test]
    public async Task Same_request_id_returns_the_first_decision_and_logs_once()
    {
        var calls = 0;
        _engine.Decide = _ => Interlocked.Increment(ref calls) == 1
            ? FakePolicyEngine.Result("""{"allow": true}""") : FakePolicyEngine.Result("""{"allow": false}""");
        var request = ValidRequest();
        request.RequestId = "req-42";
        var first = await _pdp.Authorization.CheckAsync(request);
        var again = await _pdp.Authorization.CheckAsync(request);
        Assert.That(again.DecisionId, Is.EqualTo(first.DecisionId));
        Assert.That(again.Decision, Is.EqualTo(Decision.Allow));
        Assert.That(_log.Records.Count(r => r.RequestId == "req-42"), Is.EqualTo(1));
        Assert.That(calls, Is.EqualTo(1));
    }

    [Test]
    public async Task Concurrent_duplicates_of_a_request_id_are_decided_once()
    {
        _log.AppendDelay = TimeSpan.FromMilliseconds(100);
        var request = ValidRequest();
        request.RequestId = "req-burst";
        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => _pdp.Authorization.CheckAsync(request).ResponseAsync));
        Assert.That(responses.Select(r => r.DecisionId).Distinct().Count(), Is.EqualTo(1));
        Assert.That(_log.Records.Count, Is.EqualTo(1));
        Assert.That(_engine.Inputs.Count, Is.EqualTo(1));
    }

    [Test]
    public async Task Request_id_decided_before_a_restart_is_found_in_the_log()
    {
        var earlier = new Pdp.DecisionLog.DecisionRecord
        {
            DecisionId = Guid.CreateVersion7().ToString(), DecidedAt = DateTimeOffset.UtcNow.AddMinutes(-5), RequestId = "req-old",
            Tool = "read_file", Decision = "require_approval", PolicyRevision = "rev-old", InputHash = new string('0', 64),
            Reasons = [new Pdp.DecisionLog.ReasonRecord("approval", "needs approval")],
        };
        _log.Seed(earlier);
        var request = ValidRequest();
        request.RequestId = "req-old";
        var response = await _pdp.Authorization.CheckAsync(request);
        Assert.That(response.DecisionId, Is.EqualTo(earlier.DecisionId));
        Assert.That(response.Decision, Is.EqualTo(Decision.RequireApproval));
        Assert.That(response.PolicyRevision, Is.EqualTo("rev-old"));
        Assert.That(_engine.Inputs, Is.Empty);
    }

    private static IEnumerable<TestCaseData> BadRequests()
    {
        CheckRequest With(Action<CheckRequest> change) { var r = ValidRequest(); change(r); return r; }
        yield return new TestCaseData(With(r => r.Tool = null), "tool.name is required").SetName("missing tool");
        yield return new TestCaseData(With(r => r.Tool.Name = ""), "tool.name is required").SetName("empty tool name");
        yield return new TestCaseData(With(r => r.Credential.Kind = (CredentialKind)7), "credential.kind").SetName("unknown enum");
        yield return new TestCaseData(With(r => r.Credential.IssuedAt = new Timestamp { Seconds = 253402300800L }), "credential.issued_at").SetName("timestamp after 9999");
        yield return new TestCaseData(With(r => r.Credential.ExpiresAt = new Timestamp { Seconds = 1, Nanos = -1 }), "credential.expires_at").SetName("negative nanos");
        yield return new TestCaseData(With(r => r.Session = new Session { SessionId = "has space" }), "session.session_id").SetName("session id with space");
        yield return new TestCaseData(With(r => r.Session = new Session { SessionId = new string('s', 300) }), "session.session_id").SetName("session id too long");
        yield return new TestCaseData(With(r => r.Session = new Session { SessionId = "s", ParentDecisionId = "nope" }), "session.parent_decision_id").SetName("parent not a uuid");
        yield return new TestCaseData(With(r => r.Workload.SpiffeId = "https://example.org/x"), "workload.spiffe_id").SetName("not a spiffe id");
        yield return new TestCaseData(With(r => r.Tool.Arguments.Fields["big"] = Value.ForString(new string('x', 20_000))), "tool.arguments.big").SetName("string too long");
        yield return new TestCaseData(With(r => r.Tool.Server = new string('x', 20_000)), "tool.server").SetName("server too long");
        yield return new TestCaseData(With(r => r.Tool.Arguments.Fields["n"] = Value.ForNumber(double.NaN)), "tool.arguments.n").SetName("NaN number");
        yield return new TestCaseData(With(r => r.Context = Nested(34)), "context.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n is nested more than 32 levels deep").SetName("too deep");
        // Deeper than the protobuf parser's recursion limit: refused before validation, still INVALID_ARGUMENT and logged.
        yield return new TestCaseData(With(r => r.Tool.Arguments = Nested(300)), "nested too deeply").SetName("far too deep");
        yield return new TestCaseData(With(r => r.Tool.Arguments.Fields["blob"] = Value.ForList(
            Enumerable.Range(0, 200).Select(_ => Value.ForString(new string('y', 10_000))).ToArray())), "request is").SetName("message too large");
    }

    private static Struct Nested(int depth)
    {
        var s = new Struct { Fields = { ["leaf"] = Value.ForBool(true) } };
        for (int i = 0; i < depth; i++) s = new Struct { Fields = { ["n"] = Value.ForStruct(s) } };
        return s;
    }

    [TestCaseSource(nameof(BadRequests))]
    public async Task Bad_input_is_invalid_argument_naming_the_field_and_is_logged(CheckRequest request, string expected)
    {
        var e = Assert.ThrowsAsync<RpcException>(async () => await _pdp.Authorization.CheckAsync(request));
        Assert.That(e!.StatusCode, Is.EqualTo(StatusCode.InvalidArgument));
        Assert.That(e.Status.Detail, Does.Contain(expected));
        var record = _log.Records.Single();
        Assert.That(record.Decision, Is.EqualTo("invalid"));
        Assert.That(record.Reasons.Single().Message, Does.Contain(expected));
        Assert.That(_engine.Inputs, Is.Empty, "an invalid request never reaches the policy");
        // The PDP is still fine afterwards.
        Assert.That((await _pdp.Authorization.CheckAsync(ValidRequest())).Decision, Is.EqualTo(Decision.Allow));
    }

    [Test]
    public async Task Health_is_not_serving_until_a_policy_is_loaded()
    {
        var health = new Health.HealthClient(_pdp.Channel);
        _engine.Ready = false;
        Assert.That((await health.CheckAsync(new HealthCheckRequest())).Status, Is.EqualTo(HealthCheckResponse.Types.ServingStatus.NotServing));
        Assert.That((await health.CheckAsync(new HealthCheckRequest { Service = "policypoint.v1.AuthorizationService" })).Status,
            Is.EqualTo(HealthCheckResponse.Types.ServingStatus.NotServing));
        _engine.Ready = true;
        Assert.That((await health.CheckAsync(new HealthCheckRequest())).Status, Is.EqualTo(HealthCheckResponse.Types.ServingStatus.Serving));
    }

    [Test]
    public async Task Reflection_lists_the_pdp_services()
    {
        var reflection = new Grpc.Reflection.V1Alpha.ServerReflection.ServerReflectionClient(_pdp.Channel);
        using var call = reflection.ServerReflectionInfo();
        await call.RequestStream.WriteAsync(new Grpc.Reflection.V1Alpha.ServerReflectionRequest { ListServices = "" });
        await call.RequestStream.CompleteAsync();
        Assert.That(await call.ResponseStream.MoveNext(CancellationToken.None), Is.True);
        var names = call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToList();
        Assert.That(names, Does.Contain("policypoint.v1.AuthorizationService"));
        Assert.That(names, Does.Contain("policypoint.v1.DecisionLogService"));
        Assert.That(names, Does.Contain("grpc.health.v1.Health"));
    }

    [Test]
    public async Task Graceful_shutdown_waits_for_in_flight_checks()
    {
        _log.AppendDelay = TimeSpan.FromMilliseconds(300);
        var inFlight = _pdp.Authorization.CheckAsync(ValidRequest()).ResponseAsync;
        await Task.Delay(100);
        await _pdp.Pdp.App.StopAsync();
        var response = await inFlight;
        Assert.That(response.Decision, Is.EqualTo(Decision.Allow));
        Assert.That(_log.Records.Single().DecisionId, Is.EqualTo(response.DecisionId));
    }
}
