using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Pdp.Policy;
using Pdp.Service;

namespace Pdp.Tests.Service;

/// <summary>Unit tests of the decision mapping, SPIFFE ID check, entrypoint parsing and the OPA Data API engine.</summary>
[TestFixture]
public sealed class EngineAndMappingTests
{
    [TestCase("""{"allow": true}""", "allow")]
    [TestCase("""{"allow": true, "require_approval": true}""", "require_approval")]
    [TestCase("""{"allow": false, "require_approval": true}""", "require_approval")]
    [TestCase("""{"allow": false}""", "deny")]
    [TestCase("""{}""", "deny")]
    [TestCase("""{"allow": 1}""", "deny")]
    [TestCase("""{"allow": "true"}""", "deny")]
    [TestCase("""{"allow": true, "reasons": "nope"}""", "deny")]
    [TestCase("""{"allow": true, "reasons": [{"message": "no code"}]}""", "deny")]
    [TestCase("""true""", "deny")]
    public void Only_an_exact_true_allow_allows(string result, string expected)
    {
        var outcome = DecisionMapper.Map(new PolicyEvaluation(JsonNode.Parse(result), true, "r", null, 0));
        Assert.That(outcome.Decision, Is.EqualTo(expected));
        if (expected == "deny") Assert.That(outcome.Reasons, Is.Not.Empty);
    }

    [Test]
    public void Exception_path_is_kept_only_when_not_denied()
    {
        var allowed = DecisionMapper.Map(new PolicyEvaluation(JsonNode.Parse("""{"allow": true, "exception": "break_glass:INC-1"}"""), true, "r", null, 0));
        Assert.That(allowed.ExceptionPath, Is.EqualTo("break_glass:INC-1"));
        var denied = DecisionMapper.Map(new PolicyEvaluation(JsonNode.Parse("""{"allow": false, "exception": "break_glass:INC-1"}"""), true, "r", null, 0));
        Assert.That(denied.ExceptionPath, Is.Null);
        var nullException = DecisionMapper.Map(new PolicyEvaluation(JsonNode.Parse("""{"allow": true, "exception": null}"""), true, "r", null, 0));
        Assert.That(nullException.ExceptionPath, Is.Null);
    }

    [TestCase("spiffe://example.org/agent/x", true)]
    [TestCase("spiffe://example.org", true)]
    [TestCase("spiffe://Example.org/x", false)]
    [TestCase("spiffe:///x", false)]
    [TestCase("spiffe://example.org/a//b", false)]
    [TestCase("spiffe://example.org/a/../b", false)]
    [TestCase("spiffe://example.org/a b", false)]
    [TestCase("https://example.org/x", false)]
    public void Spiffe_ids_are_checked(string id, bool valid) =>
        Assert.That(RequestValidator.IsSpiffeId(id), Is.EqualTo(valid));

    [TestCase("data.policypoint.mcp.decision", true)]
    [TestCase("data.x", true)]
    [TestCase("data", false)]
    [TestCase("policypoint.mcp.decision", false)]
    [TestCase("data.a..b", false)]
    [TestCase("data.a-b", false)]
    public void Entrypoints_must_be_data_paths(string entrypoint, bool valid)
    {
        if (valid) Assert.That(EntrypointPath.Parse(entrypoint)[0], Is.Not.Empty);
        else Assert.Throws<ArgumentException>(() => EntrypointPath.Parse(entrypoint));
    }

    [Test]
    public void Spliced_history_text_equals_the_canonical_form_of_the_full_document()
    {
        var request = CheckServiceTests.ValidRequest();
        request.Session = new PolicyPoint.V1.Session { SessionId = "s-1" };
        var history = Enumerable.Range(0, 3).Select(i => new SessionEvent(
            Guid.CreateVersion7().ToString(), $"tool_{i}", "srv", "file", $"/f/{i}", i == 1 ? "secret" : null, "allow",
            i == 2 ? ["sensitive", "b"] : [], DateTimeOffset.UnixEpoch.AddDays(i))).ToList();
        var input = InputBuilder.BuildInput(request, history, DateTimeOffset.UtcNow);
        var spliced = input.Json; // before the nodes exist
        var full = JsonUtil.Canonical(input.Document);
        Assert.That(spliced, Is.EqualTo(full));
        Assert.That(JsonNode.Parse(spliced)!["session"]!["history"]!.AsArray(), Has.Count.EqualTo(3));
        Assert.That(input.Hash, Has.Length.EqualTo(64));
    }

    [TestCase(0)]
    [TestCase(1)]
    [TestCase(5)]
    public void Hash_and_rego_value_equal_those_of_the_full_canonical_text(int events)
    {
        var request = CheckServiceTests.ValidRequest();
        request.Session = new PolicyPoint.V1.Session { SessionId = "s-2" };
        request.Tool.Arguments = new Google.Protobuf.WellKnownTypes.Struct
        {
            Fields = { ["n"] = Google.Protobuf.WellKnownTypes.Value.ForNumber(2.5), ["q"] = Google.Protobuf.WellKnownTypes.Value.ForString("a\u0001\"b") },
        };
        var history = Enumerable.Range(0, events).Select(i => new SessionEvent(
            Guid.CreateVersion7().ToString(), $"tool_{i}", "srv", "file", $"/f/{i}", null, i % 2 == 0 ? "allow" : "deny",
            ["l"], DateTimeOffset.UnixEpoch.AddDays(i))).ToList();
        // Two inputs over the same events: one derives hash and value from the cached parts, one from the full text.
        var fast = InputBuilder.BuildInput(request, history, DateTimeOffset.UnixEpoch);
        var hash = fast.Hash;
        var value = fast.RegoValue;
        var full = InputBuilder.BuildInput(request, history, DateTimeOffset.UnixEpoch).Json;
        Assert.That(hash, Is.EqualTo(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(full)))));
        Assert.That(value, Is.EqualTo(Pdp.Rego.Values.Value.FromJson(full)));
        Assert.That(value.ToJson(), Is.EqualTo(full));
    }

    [Test]
    public void Input_without_a_session_has_a_hash_and_value_too()
    {
        var input = new PolicyInput(new JsonObject { ["tool"] = new JsonObject { ["name"] = "t\u0001" } });
        Assert.That(input.RegoValue, Is.EqualTo(Pdp.Rego.Values.Value.FromJson(input.Json)));
        Assert.That(input.Hash, Is.EqualTo(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(input.Json)))));
    }

    [Test]
    public async Task Opa_engine_maps_results_undefined_and_errors()
    {
        var reply = """{"result": {"allow": true}, "provenance": {"bundles": {"b1": {"revision": "r-1"}}}}""";
        var status = 200;
        string? lastBody = null;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var app = builder.Build();
        app.MapPost("/v1/data/policypoint/mcp/decision", async (HttpContext ctx) =>
        {
            lastBody = await new StreamReader(ctx.Request.Body).ReadToEndAsync();
            ctx.Response.StatusCode = status;
            ctx.Response.ContentType = "application/json";
            await ctx.Response.WriteAsync(reply);
        });
        app.MapGet("/health", (HttpContext ctx) => ctx.Response.StatusCode = status);
        await app.StartAsync();
        var engine = new OpaPolicyEngine(new HttpClient { BaseAddress = new Uri(app.Urls.First() + "/") });
        var input = new PolicyInput(new JsonObject { ["tool"] = new JsonObject { ["name"] = "t" } });

        Assert.That(await engine.RefreshHealthAsync(), Is.True);
        var defined = await engine.EvaluateAsync(input, DateTimeOffset.UtcNow);
        Assert.That(defined.Defined, Is.True);
        Assert.That(defined.Result!["allow"]!.GetValue<bool>(), Is.True);
        Assert.That(defined.Revision, Is.EqualTo("r-1"));
        Assert.That(JsonNode.Parse(lastBody!)!["input"]!["tool"]!["name"]!.GetValue<string>(), Is.EqualTo("t"));

        reply = "{}";
        var undefined = await engine.EvaluateAsync(input, DateTimeOffset.UtcNow);
        Assert.That(undefined.Defined, Is.False);
        Assert.That(undefined.Error, Is.Null);
        Assert.That(DecisionMapper.Map(undefined).Reasons.Single().Code, Is.EqualTo("policy_undefined"));

        status = (int)HttpStatusCode.InternalServerError;
        reply = """{"code": "internal_error", "message": "boom"}""";
        var failed = await engine.EvaluateAsync(input, DateTimeOffset.UtcNow);
        Assert.That(failed.Error, Does.Contain("internal_error").And.Contain("boom"));
        Assert.That(DecisionMapper.Map(failed).Decision, Is.EqualTo("deny"));
        Assert.That(await engine.RefreshHealthAsync(), Is.False);

        await app.StopAsync();
        var unreachable = await engine.EvaluateAsync(input, DateTimeOffset.UtcNow);
        Assert.That(unreachable.Error, Does.StartWith("opa_unavailable"));
    }
}
