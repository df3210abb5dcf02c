using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using Pdp.Rego.Loading;
using Pdp.Rego.Values;

namespace Pdp.Rego.Tests.Loading;

[TestFixture]
public class PolicyLoaderTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "policy-loader-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void TearDown()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private string Write(string relative, string content)
    {
        var path = Path.Combine(_dir, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        return path;
    }

    private string WriteTarGz(string name, params (string Entry, string Content)[] entries)
    {
        var path = Path.Combine(_dir, name);
        using var file = File.Create(path);
        using var gzip = new GZipStream(file, CompressionLevel.Fastest);
        using var tar = new TarWriter(gzip, TarEntryFormat.Pax);
        foreach (var (entry, content) in entries)
        {
            var e = new PaxTarEntry(TarEntryType.RegularFile, entry) { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content)) };
            tar.WriteEntry(e);
        }
        return path;
    }

    private static string Json(Value v) => v.ToJson();

    [Test]
    public void Directory_loads_modules_relative_to_root_and_places_data_by_folder()
    {
        Write("main.rego", "package a\n");
        Write("lib/util_test.rego", "package a.util_test\n");
        Write("data.yaml", "settings:\n  max: 3\n");
        Write("x/y/data.json", "{\"k\": [1, 2]}");
        Write("README.md", "ignored");
        Write("x/other.json", "{\"ignored\": true}");

        var bundle = PolicyLoader.LoadDirectory(_dir);

        Assert.That(bundle.Modules.Select(m => m.Path), Is.EqualTo(new[] { "lib/util_test.rego", "main.rego" }));
        Assert.That(bundle.Modules[1].Text, Is.EqualTo("package a\n"));
        Assert.That(Json(bundle.Data), Is.EqualTo("{\"settings\":{\"max\":3},\"x\":{\"y\":{\"k\":[1,2]}}}"));
        Assert.That(bundle.Manifest, Is.Null);
        Assert.That(bundle.Revision, Is.EqualTo(bundle.ContentHash));
        Assert.That(bundle.ContentHash, Does.Match("^sha256:[0-9a-f]{64}$"));
    }

    [Test]
    public void Hidden_folders_are_skipped()
    {
        Write(".git/hooks/x.rego", "package evil\n");
        Write("p.rego", "package p\n");
        var bundle = PolicyLoader.LoadDirectory(_dir);
        Assert.That(bundle.Modules.Select(m => m.Path), Is.EqualTo(new[] { "p.rego" }));
    }

    [Test]
    public void Data_files_merge_and_conflicts_name_both_files()
    {
        Write("data.json", "{\"a\": {\"b\": 1}}");
        Write("a/data.yaml", "c: 2\n");
        var merged = PolicyLoader.LoadDirectory(_dir);
        Assert.That(Json(merged.Data), Is.EqualTo("{\"a\":{\"b\":1,\"c\":2}}"));

        Write("a/data.yml", "b: 5\n");
        var ex = Assert.Throws<PolicyLoadException>(() => PolicyLoader.LoadDirectory(_dir))!;
        Assert.That(ex.Errors, Has.Count.EqualTo(1));
        Assert.That(ex.Errors[0].Reason, Does.Contain("data conflict at data.a.b"));
        Assert.That(ex.Message, Does.Contain("data.json").And.Contain("a/data.y"));
    }

    [Test]
    public void A_value_where_a_folder_needs_an_object_is_a_conflict()
    {
        Write("data.json", "{\"a\": 1}");
        Write("a/b/data.json", "{\"c\": 2}");
        var ex = Assert.Throws<PolicyLoadException>(() => PolicyLoader.LoadDirectory(_dir))!;
        Assert.That(ex.Message, Does.Contain("data conflict at data.a"));
    }

    [Test]
    public void Root_data_must_be_an_object_but_nested_data_may_be_any_value()
    {
        Write("list/data.json", "[1, 2, 3]");
        Assert.That(Json(PolicyLoader.LoadDirectory(_dir).Data), Is.EqualTo("{\"list\":[1,2,3]}"));

        Write("data.json", "[1]");
        var ex = Assert.Throws<PolicyLoadException>(() => PolicyLoader.LoadDirectory(_dir))!;
        Assert.That(ex.Errors[0].File, Is.EqualTo("data.json"));
        Assert.That(ex.Errors[0].Reason, Does.Contain("must hold an object"));
    }

    [Test]
    public void Malformed_files_are_reported_with_file_and_position_and_all_at_once()
    {
        Write("data.json", "{\"a\": }");
        Write("b/data.yaml", "x: [1, 2\n");
        var ex = Assert.Throws<PolicyLoadException>(() => PolicyLoader.LoadDirectory(_dir))!;
        Assert.That(ex.Errors.Select(e => e.File), Is.EquivalentTo(new[] { "data.json", "b/data.yaml" }));
        Assert.That(ex.Errors.Single(e => e.File == "data.json").Reason, Does.StartWith("invalid JSON at line 1"));
        Assert.That(ex.Errors.Single(e => e.File == "b/data.yaml").Reason, Does.StartWith("invalid YAML at line"));
    }

    [Test]
    public void Invalid_utf8_module_is_an_error_not_a_crash()
    {
        File.WriteAllBytes(Path.Combine(_dir, "bad.rego"), [0x70, 0xff, 0xfe, 0x0a]);
        var ex = Assert.Throws<PolicyLoadException>(() => PolicyLoader.LoadDirectory(_dir))!;
        Assert.That(ex.Errors[0], Is.EqualTo(new PolicyLoadError("bad.rego", "not valid UTF-8")));
    }

    [TestCase("a: yes", "{\"a\":true}")]
    [TestCase("a: off", "{\"a\":false}")]
    [TestCase("a: ~", "{\"a\":null}")]
    [TestCase("a:", "{\"a\":null}")]
    [TestCase("a: 0x1F", "{\"a\":31}")]
    [TestCase("a: 0755", "{\"a\":493}")]
    [TestCase("a: 1_000", "{\"a\":1000}")]
    [TestCase("a: 12345678901234567890", "{\"a\":12345678901234567890}")]
    [TestCase("a: 1.5e3", "{\"a\":1500}")]
    [TestCase("a: .5", "{\"a\":0.5}")]
    [TestCase("a: \"yes\"", "{\"a\":\"yes\"}")]
    [TestCase("a: !!str 12", "{\"a\":\"12\"}")]
    [TestCase("a: read_file", "{\"a\":\"read_file\"}")]
    [TestCase("a: spiffe://example.org/x", "{\"a\":\"spiffe://example.org/x\"}")]
    [TestCase("1: x", "{\"1\":\"x\"}")]
    [TestCase("", "{}")]
    public void Yaml_scalars_resolve_as_opa_reads_them(string yaml, string json)
    {
        Write("data.yaml", yaml + "\n");
        Assert.That(Json(PolicyLoader.LoadDirectory(_dir).Data), Is.EqualTo(json));
    }

    [Test]
    public void Yaml_duplicate_keys_and_several_documents_are_errors()
    {
        Write("data.yaml", "a: 1\na: 2\n");
        Assert.That(() => PolicyLoader.LoadDirectory(_dir),
            Throws.TypeOf<PolicyLoadException>().With.Message.Contains("data.yaml"));
        Write("data.yaml", "a: 1\n---\nb: 2\n");
        Assert.That(() => PolicyLoader.LoadDirectory(_dir),
            Throws.TypeOf<PolicyLoadException>().With.Message.Contains("one YAML document"));
    }

    [Test]
    public void Manifest_gives_revision_and_roots_are_enforced()
    {
        Write(".manifest", "{\"revision\": \"v42\", \"roots\": [\"policypoint\"], \"metadata\": {\"owner\": \"sec\"}}");
        Write("mcp/policy.rego", "# comment\npackage policypoint.mcp\n");
        Write("data.yaml", "policypoint:\n  config: {}\n");
        var bundle = PolicyLoader.LoadDirectory(_dir);
        Assert.That(bundle.Revision, Is.EqualTo("v42"));
        Assert.That(bundle.Manifest!.Roots, Is.EqualTo(new[] { "policypoint" }));
        Assert.That(Json(bundle.Manifest.Metadata), Is.EqualTo("{\"owner\":\"sec\"}"));
        Assert.That(bundle.Revision, Is.Not.EqualTo(bundle.ContentHash));

        Write("other/data.json", "{\"x\": 1}");
        Write("evil.rego", "package system.authz\n");
        var ex = Assert.Throws<PolicyLoadException>(() => PolicyLoader.LoadDirectory(_dir))!;
        Assert.That(ex.Errors.Select(e => e.Reason), Has.Some.Contains("data.other is outside the manifest roots"));
        Assert.That(ex.Errors.Select(e => e.Reason), Has.Some.Contains("package system.authz is outside the manifest roots"));
    }

    [Test]
    public void Bad_manifests_are_errors()
    {
        Write(".manifest", "{\"roots\": \"policypoint\"}");
        Assert.That(() => PolicyLoader.LoadDirectory(_dir), Throws.TypeOf<PolicyLoadException>().With.Message.Contains("roots must be an array"));
        Write(".manifest", "{\"roots\": [\"a\", \"a/b\"]}");
        Assert.That(() => PolicyLoader.LoadDirectory(_dir), Throws.TypeOf<PolicyLoadException>().With.Message.Contains("overlap"));
        Write(".manifest", "not json");
        Assert.That(() => PolicyLoader.LoadDirectory(_dir), Throws.TypeOf<PolicyLoadException>().With.Message.Contains("not valid JSON"));
    }

    [Test]
    public void Content_hash_changes_with_content_and_not_with_load_order()
    {
        Write("a.rego", "package a\n");
        Write("b.rego", "package b\n");
        var first = PolicyLoader.LoadDirectory(_dir).ContentHash;
        Assert.That(PolicyLoader.LoadDirectory(_dir).ContentHash, Is.EqualTo(first));
        Write("b.rego", "package b\n\nx := 1\n");
        Assert.That(PolicyLoader.LoadDirectory(_dir).ContentHash, Is.Not.EqualTo(first));
    }

    [Test]
    public void Tar_gz_bundle_loads_like_a_directory_and_hashes_the_same()
    {
        var tgz = WriteTarGz("bundle.tar.gz",
            ("/.manifest", "{\"revision\": \"rev-7\", \"roots\": [\"policypoint\"]}"),
            ("./mcp/policy.rego", "package policypoint.mcp\n"),
            ("/data.json", "{\"policypoint\": {\"config\": {\"k\": true}}}"),
            ("/notes.txt", "ignored"));
        var bundle = PolicyLoader.LoadBundleTarGz(tgz);
        Assert.That(bundle.Revision, Is.EqualTo("rev-7"));
        Assert.That(bundle.Modules.Select(m => m.Path), Is.EqualTo(new[] { "mcp/policy.rego" }));
        Assert.That(Json(bundle.Data), Is.EqualTo("{\"policypoint\":{\"config\":{\"k\":true}}}"));

        var dir = Path.Combine(_dir, "same");
        Directory.CreateDirectory(Path.Combine(dir, "mcp"));
        File.WriteAllText(Path.Combine(dir, ".manifest"), "{\"revision\": \"rev-7\", \"roots\": [\"policypoint\"]}");
        File.WriteAllText(Path.Combine(dir, "mcp/policy.rego"), "package policypoint.mcp\n");
        File.WriteAllText(Path.Combine(dir, "data.json"), "{\"policypoint\": {\"config\": {\"k\": true}}}");
        Assert.That(PolicyLoader.LoadDirectory(dir).ContentHash, Is.EqualTo(bundle.ContentHash));
        Assert.That(PolicyLoader.Load(tgz).Revision, Is.EqualTo("rev-7"));
    }

    [Test]
    public void Tar_gz_with_traversal_or_duplicates_is_refused()
    {
        var tgz = WriteTarGz("evil.tar.gz", ("../escape.rego", "package x\n"), ("/a.rego", "package a\n"), ("a.rego", "package b\n"));
        var ex = Assert.Throws<PolicyLoadException>(() => PolicyLoader.LoadBundleTarGz(tgz))!;
        Assert.That(ex.Errors.Select(e => e.Reason), Has.Some.Contains("'..' segment"));
        Assert.That(ex.Errors.Select(e => e.Reason), Has.Some.Contains("duplicate entry"));
    }

    [Test]
    public void Tar_gz_above_the_size_limit_is_refused()
    {
        var tgz = WriteTarGz("big.tar.gz", ("data.json", "{\"a\": \"" + new string('x', 5000) + "\"}"));
        var options = new PolicyLoadOptions { MaxFileBytes = 1000 };
        Assert.That(() => PolicyLoader.LoadBundleTarGz(tgz, options),
            Throws.TypeOf<PolicyLoadException>().With.Message.Contains("above the limit"));
    }

    [Test]
    public void Not_a_gzip_file_is_a_clear_error()
    {
        var path = Write("junk.tar.gz", "this is not gzip");
        var ex = Assert.Throws<PolicyLoadException>(() => PolicyLoader.LoadBundleTarGz(path))!;
        Assert.That(ex.Errors[0].File, Is.EqualTo(path));
        Assert.That(ex.Errors[0].Reason, Does.StartWith("not a readable gzip-compressed tar archive"));
    }

    [Test]
    public void LoadPaths_mixes_directories_and_loose_files_like_opa_eval()
    {
        var lib = Path.Combine(_dir, "lib");
        Write("lib/p.rego", "package p\n");
        Write("lib/sub/data.json", "{\"v\": 1}");
        var extra = Write("extra.rego", "package q\n");
        var input = Write("more.yaml", "top: 2\n");

        var bundle = PolicyLoader.LoadPaths([lib, extra, input]);

        Assert.That(bundle.Modules.Select(m => m.Path), Is.EquivalentTo(new[] { lib.Replace('\\', '/') + "/p.rego", extra.Replace('\\', '/') }));
        Assert.That(Json(bundle.Data), Is.EqualTo("{\"sub\":{\"v\":1},\"top\":2}"));
    }

    [Test]
    public void LoadPaths_accepts_a_bundle_archive_beside_a_directory()
    {
        var tgz = WriteTarGz("b.tar.gz", ("/policy.rego", "package b\n"), ("/cfg/data.json", "{\"on\": true}"));
        Write("lib/p.rego", "package p\n");
        var bundle = PolicyLoader.LoadPaths([Path.Combine(_dir, "lib"), tgz]);
        Assert.That(bundle.Modules.Select(m => m.Path), Has.Some.EndsWith("b.tar.gz#policy.rego"));
        Assert.That(Json(bundle.Data), Is.EqualTo("{\"cfg\":{\"on\":true}}"));
    }

    [Test]
    public void ReadValueFile_reads_json_and_yaml_and_reports_bad_files()
    {
        Assert.That(Json(PolicyLoader.ReadValueFile(Write("in.yaml", "a: [1, yes]\n"))), Is.EqualTo("{\"a\":[1,true]}"));
        Assert.That(Json(PolicyLoader.ReadValueFile(Write("in.json", "[1, 2.5]"))), Is.EqualTo("[1,2.5]"));
        var ex = Assert.Throws<PolicyLoadException>(() => PolicyLoader.ReadValueFile(Write("bad.json", "{")))!;
        Assert.That(ex.Errors[0].File, Does.EndWith("bad.json"));
        Assert.That(() => PolicyLoader.ReadValueFile(Path.Combine(_dir, "none.json")),
            Throws.TypeOf<PolicyLoadException>().With.Message.Contains("no such file"));
    }

    [Test]
    public void Missing_paths_and_unknown_file_types_are_reported()
    {
        var txt = Write("notes.txt", "x");
        var ex = Assert.Throws<PolicyLoadException>(() => PolicyLoader.LoadPaths([Path.Combine(_dir, "nope"), txt]))!;
        Assert.That(ex.Errors.Select(e => e.Reason), Is.EquivalentTo(new[]
        {
            "no such file or directory", "not a .rego, .json, .yaml, .yml or .tar.gz file",
        }));
    }

    [Test]
    public void The_shipped_policy_library_loads()
    {
        var rego = Path.Combine(RepoPaths.Root, "rego");
        var bundle = PolicyLoader.LoadDirectory(rego);
        Assert.That(bundle.Modules.Select(m => m.Path), Does.Contain("mcp/decision.rego").And.Contain("mcp/grants_test.rego"));
        var config = ((ObjectValue)((ObjectValue)bundle.Data["policypoint"]!)["config"]!);
        Assert.That(config["grants"], Is.InstanceOf<ArrayValue>());
        Assert.That(Json(((ObjectValue)config["settings"]!)["jit_max_ttl_seconds"]!), Is.EqualTo("3600"));
    }
}
