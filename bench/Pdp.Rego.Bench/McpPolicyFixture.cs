using Pdp.Rego;
using Pdp.Rego.Loading;
using Pdp.Rego.Values;

namespace Pdp.Rego.Bench;

/// <summary>
/// The realistic MCP authorization policy the benchmarks evaluate: the rego/ policy library with its catalog,
/// plus <see cref="GrantCount"/> generated grants keyed on workload SPIFFE ID and tool, a session history of
/// <see cref="HistoryLength"/> earlier decisions (the chaining rule), and a JIT credential (the credential rules).
/// </summary>
public static class McpPolicyFixture
{
    public const int GrantCount = 200;
    public const int HistoryLength = 8;
    /// <summary>The history length the PDP's load benchmark reaches (a session of 64 earlier decisions).</summary>
    public const int LongHistoryLength = 64;
    public const string Entrypoint = "data.policypoint.mcp.decision";

    /// <summary>The repository root, found by walking up to PolicyPoint.sln from the working or binary folder.</summary>
    public static string RepoRoot()
    {
        // BenchmarkDotNet runs each benchmark in a child process elsewhere: the parent passes the root down.
        if (Environment.GetEnvironmentVariable("POLICYPOINT_ROOT") is { Length: > 0 } env) return env;
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "PolicyPoint.sln"))) return d.FullName;
        throw new InvalidOperationException("run the benchmarks from inside the repository (PolicyPoint.sln not found)");
    }

    /// <summary>The rego/ modules and data, with the generated grants appended to data.policypoint.config.grants.</summary>
    public static (IReadOnlyList<RegoModuleSource> Modules, Value Data) Load()
    {
        var bundle = PolicyLoader.Load(Path.Combine(RepoRoot(), "rego"));
        var modules = bundle.Modules.Where(m => !m.Path.EndsWith("_test.rego", StringComparison.Ordinal)).ToList();
        return (modules, WithGeneratedGrants(bundle.Data));
    }

    private static Value WithGeneratedGrants(Value data)
    {
        var root = (ObjectValue)data;
        var policypoint = (ObjectValue)root["policypoint"]!;
        var config = (ObjectValue)policypoint["config"]!;
        var grants = ((ArrayValue)config["grants"]!).Items.ToList();
        string[] servers = ["filesystem", "mail", "payments", "tickets", "crm"];
        for (int i = 0; i < GrantCount; i++)
        {
            grants.Add(ObjectValue.FromPairs(
                ("id", Value.String($"generated-{i}")),
                ("workloads", new ArrayValue([Value.String($"spiffe://example.org/team{i % 40}/agent{i}")])),
                ("servers", new ArrayValue([Value.String(servers[i % servers.Length])])),
                ("tools", new ArrayValue([Value.String($"tool_{i}"), Value.String("read_file")])),
                ("path_prefixes", new ArrayValue([Value.String($"/srv/team{i % 40}")]))));
        }
        config = config.With(Value.String("grants"), new ArrayValue(grants.ToArray()));
        policypoint = policypoint.With(Value.String("config"), config);
        return root.With(Value.String("policypoint"), policypoint);
    }

    /// <summary>An input for a read by agent X inside its workspace with a valid JIT credential (ALLOW).</summary>
    public static Value AllowedInput() => AllowedInput(HistoryLength);

    /// <summary><see cref="AllowedInput()"/> with a session history of <paramref name="historyLength"/> earlier decisions.</summary>
    public static Value AllowedInput(int historyLength) => Input("spiffe://example.org/agent/x", "read_text_file", "/tmp/policypoint-demo/workspace/notes.txt", historyLength);

    /// <summary>An input from a workload with no grant for the tool (DENY no_grant).</summary>
    public static Value DeniedInput() => Input("spiffe://example.org/team7/agent7", "write_file", "/etc/passwd", HistoryLength);

    private static Value Input(string spiffeId, string tool, string path, int historyLength)
    {
        var now = DateTimeOffset.Parse("2026-11-25T12:00:00Z");
        long NowNs(DateTimeOffset t) => (t.ToUnixTimeMilliseconds()) * 1_000_000L;
        var history = new List<Value>();
        for (int i = 0; i < historyLength; i++)
        {
            history.Add(ObjectValue.FromPairs(
                ("decision_id", Value.String($"0193-{i:D4}")),
                ("tool", Value.String("list_directory")),
                ("server", Value.String("filesystem")),
                ("resource", ObjectValue.FromPairs(("type", Value.String("file")), ("id", Value.String($"/tmp/policypoint-demo/workspace/{i}")), ("sensitivity", Value.String("internal")))),
                ("decision", Value.String("allow")),
                ("labels", new ArrayValue([])),
                ("time", Value.String(now.AddSeconds(-60 + i).ToString("yyyy-MM-ddTHH:mm:ssZ")))));
        }
        return ObjectValue.FromPairs(
            ("workload", ObjectValue.FromPairs(("spiffe_id", Value.String(spiffeId)), ("issuer", Value.String("https://idp.example.org")), ("subject", Value.String("agent")), ("attributes", ObjectValue.Empty))),
            ("tool", ObjectValue.FromPairs(
                ("server", Value.String("secure-filesystem-server")),
                ("name", Value.String(tool)),
                ("arguments", ObjectValue.FromPairs(("path", Value.String(path)))),
                ("annotations", ObjectValue.FromPairs(("readOnlyHint", Value.String("true")))))),
            ("resource", ObjectValue.FromPairs(("type", Value.String("file")), ("id", Value.String(path)), ("sensitivity", Value.String("internal")))),
            ("context", ObjectValue.FromPairs(("size_bytes", Value.Number(512)), ("labels", new ArrayValue([Value.String("code")])))),
            ("credential", ObjectValue.FromPairs(
                ("id", Value.String("cred-1")), ("kind", Value.String("jit")),
                ("issued_at", Value.String("2026-11-25T11:50:00Z")), ("expires_at", Value.String("2026-11-25T12:10:00Z")),
                ("issued_at_ns", Value.Number(NowNs(now.AddMinutes(-10)))), ("expires_at_ns", Value.Number(NowNs(now.AddMinutes(10)))),
                ("scopes", new ArrayValue([Value.String("fs:read")])))),
            ("session", ObjectValue.FromPairs(("session_id", Value.String("sess-1")), ("parent_decision_id", Value.String("0193-0007")), ("history", new ArrayValue(history.ToArray())))),
            ("on_behalf_of", ObjectValue.FromPairs(("subject", Value.String("alice@example.org")), ("attributes", ObjectValue.Empty))),
            ("request", ObjectValue.FromPairs(("time", Value.String("2026-11-25T12:00:00Z")), ("time_ns", Value.Number(NowNs(now))))));
    }
}
