using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using Grpc.Health.V1;
using Microsoft.Extensions.DependencyInjection;
using Pdp.Bundles;
using Pdp.Service;
using PolicyPoint.V1;

namespace Pdp.Tests.Service;

/// <summary>Bundles served by the embedded Rego engine: directory and .tar.gz, revisions, hot reload, and a bad bundle
/// that must not replace the serving one.</summary>
[TestFixture]
public sealed class BundleReloadTests
{
    private string _dir = null!;

    private const string AllowOkTool = """
        package policypoint.mcp

        default decision := {"allow": false, "reasons": [{"code": "no_grant", "message": "not granted"}]}

        decision := {"allow": true, "labels": [data.policypoint.label]} if input.tool.name == "ok_tool"
        """;

    private const string AllowEverything = """
        package policypoint.mcp

        decision := {"allow": true, "reasons": [{"code": "granted", "message": "everything goes"}]}
        """;

    [SetUp]
    public void MakeDir()
    {
        _dir = Path.Combine(Path.GetTempPath(), "pdp-bundle-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(Path.Combine(_dir, "policypoint"));
    }

    [TearDown]
    public void RemoveDir()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private void WriteBundle(string rego, string? revision, string label = "first")
    {
        File.WriteAllText(Path.Combine(_dir, "policy.rego"), rego);
        // A data file's folder is its path under data: policypoint/data.json → data.policypoint.
        File.WriteAllText(Path.Combine(_dir, "policypoint", "data.json"), $$"""{"label": "{{label}}"}""");
        var manifest = Path.Combine(_dir, ".manifest");
        if (revision is null) File.Delete(manifest);
        else File.WriteAllText(manifest, $$"""{"revision": "{{revision}}", "roots": ["policypoint"]}""");
    }

    private static Task<InProcessPdp> Start(string policy) => InProcessPdp.StartAsync(new PdpServerOptions
    {
        Policy = policy,
        DecisionLog = new InMemoryDecisionLog(),
        BundlePollInterval = TimeSpan.FromMilliseconds(300),
    });

    private static async Task<CheckResponse> Check(InProcessPdp pdp, string tool) =>
        await pdp.Authorization.CheckAsync(CheckServiceTests.ValidRequest(tool));

    private static async Task<CheckResponse> WaitForRevision(InProcessPdp pdp, string revision)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        CheckResponse last;
        do
        {
            last = await Check(pdp, "ok_tool");
            if (last.PolicyRevision == revision) return last;
            await Task.Delay(100);
        } while (DateTime.UtcNow < deadline);
        Assert.Fail($"revision {revision} never served; last seen {last.PolicyRevision}");
        return last;
    }

    [Test]
    public async Task Directory_bundle_decides_with_data_and_manifest_revision()
    {
        WriteBundle(AllowOkTool, "v1");
        await using var pdp = await Start(_dir);
        var allow = await WaitForRevision(pdp, "v1");
        Assert.That(allow.Decision, Is.EqualTo(Decision.Allow));
        var deny = await Check(pdp, "other_tool");
        Assert.That(deny.Decision, Is.EqualTo(Decision.Deny));
        Assert.That(deny.Reasons.Single().Code, Is.EqualTo("no_grant"));
        var log = (InMemoryDecisionLog)pdp.Pdp.App.Services.GetRequiredService<Pdp.DecisionLog.IDecisionLog>();
        Assert.That(log.Records.Last(r => r.Decision == "allow").Labels, Is.EqualTo(new[] { "first" }));
        Assert.That(log.Records.All(r => r.PolicyRevision == "v1"));
    }

    [Test]
    public async Task Without_a_manifest_the_revision_is_a_content_hash_that_changes_with_the_data()
    {
        WriteBundle(AllowOkTool, null);
        await using var pdp = await Start(_dir);
        var health = new Health.HealthClient(pdp.Channel);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while ((await health.CheckAsync(new HealthCheckRequest())).Status != HealthCheckResponse.Types.ServingStatus.Serving && DateTime.UtcNow < deadline)
            await Task.Delay(100);
        var first = await Check(pdp, "ok_tool");
        Assert.That(first.PolicyRevision, Does.Match("^sha256:[0-9a-f]{64}$"));
        WriteBundle(AllowOkTool, null, label: "second");
        deadline = DateTime.UtcNow.AddSeconds(20);
        CheckResponse next;
        do { next = await Check(pdp, "ok_tool"); await Task.Delay(100); }
        while (next.PolicyRevision == first.PolicyRevision && DateTime.UtcNow < deadline);
        Assert.That(next.PolicyRevision, Does.Match("^sha256:[0-9a-f]{64}$").And.Not.EqualTo(first.PolicyRevision));
    }

    [Test]
    public async Task A_bundle_that_fails_to_compile_does_not_replace_the_serving_one_and_a_good_one_later_does()
    {
        WriteBundle(AllowOkTool, "v1");
        await using var pdp = await Start(_dir);
        await WaitForRevision(pdp, "v1");
        var watcher = pdp.Pdp.App.Services.GetRequiredService<BundleWatcher>();

        WriteBundle("package policypoint.mcp\n\ndecision := {\"allow\": true if {\n", "v2-broken");
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (watcher.FailureCount == 0 && DateTime.UtcNow < deadline) await Task.Delay(100);
        Assert.That(watcher.FailureCount, Is.GreaterThan(0), "the broken bundle was never tried");
        Assert.That(watcher.LastError, Does.Contain("rego_parse_error"));
        var still = await Check(pdp, "other_tool");
        Assert.That(still.PolicyRevision, Is.EqualTo("v1"));
        Assert.That(still.Decision, Is.EqualTo(Decision.Deny));
        Assert.That((await new Health.HealthClient(pdp.Channel).CheckAsync(new HealthCheckRequest())).Status,
            Is.EqualTo(HealthCheckResponse.Types.ServingStatus.Serving));

        WriteBundle(AllowEverything, "v3");
        await WaitForRevision(pdp, "v3");
        Assert.That((await Check(pdp, "other_tool")).Decision, Is.EqualTo(Decision.Allow));
    }

    [Test]
    public async Task Health_is_not_serving_until_a_loadable_bundle_appears()
    {
        WriteBundle("package policypoint.mcp\n\ndecision := {{{\n", "broken");
        await using var pdp = await Start(_dir);
        var health = new Health.HealthClient(pdp.Channel);
        await Task.Delay(500);
        Assert.That((await health.CheckAsync(new HealthCheckRequest())).Status, Is.EqualTo(HealthCheckResponse.Types.ServingStatus.NotServing));
        var refused = await Check(pdp, "ok_tool");
        Assert.That(refused.Decision, Is.EqualTo(Decision.Deny), "no policy, no permission");
        Assert.That(refused.Reasons.Single().Code, Is.EqualTo("policy_error"));

        WriteBundle(AllowOkTool, "v1");
        await WaitForRevision(pdp, "v1");
        Assert.That((await health.CheckAsync(new HealthCheckRequest())).Status, Is.EqualTo(HealthCheckResponse.Types.ServingStatus.Serving));
    }

    [Test]
    public async Task Tar_gz_bundle_is_served_with_its_manifest_revision()
    {
        var archive = Path.Combine(_dir, "bundle.tar.gz");
        await using (var file = File.Create(archive))
        await using (var gzip = new GZipStream(file, CompressionLevel.Fastest))
        await using (var tar = new TarWriter(gzip, TarEntryFormat.Pax))
        {
            void Add(string name, string text)
            {
                var entry = new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(text)) };
                tar.WriteEntry(entry);
            }
            Add("/.manifest", """{"revision": "tgz-7", "roots": ["policypoint"]}""");
            Add("/policypoint/mcp/policy.rego", AllowOkTool);
            Add("/policypoint/data.json", """{"label": "from-tar"}""");
        }
        await using var pdp = await Start(archive);
        var allow = await WaitForRevision(pdp, "tgz-7");
        Assert.That(allow.Decision, Is.EqualTo(Decision.Allow));
    }
}
