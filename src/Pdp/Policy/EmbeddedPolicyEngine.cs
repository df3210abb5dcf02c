using System.Diagnostics;
using System.Text.Json.Nodes;
using Pdp.Rego;
using Pdp.Rego.Loading;
using Pdp.Rego.Values;

namespace Pdp.Policy;

/// <summary>A compiled bundle as it serves: immutable, replaced as a whole on reload.</summary>
/// <param name="Policy">The compiled policy (thread safe).</param>
/// <param name="Revision">The bundle's revision, recorded with each decision.</param>
/// <param name="Source">Where the bundle was read from.</param>
/// <param name="LoadedAt">When it started serving (UTC).</param>
public sealed record LoadedPolicy(CompiledPolicy Policy, string Revision, string Source, DateTimeOffset LoadedAt);

/// <summary>
/// The embedded engine: evaluates the entrypoint with Pdp.Rego over the bundle compiled last. A reload compiles the
/// new bundle completely first and only then swaps the reference, so a Check sees either the old policy or the new
/// one, never a half-built one; a bundle that fails to compile never replaces the serving one.
/// </summary>
public sealed class EmbeddedPolicyEngine : IPolicyEngine
{
    private readonly string _entrypoint;
    private readonly TimeSpan? _timeout;
    private LoadedPolicy? _current;

    /// <param name="entrypoint">Decision path, e.g. <c>data.policypoint.mcp.decision</c> (checked).</param>
    /// <param name="evalTimeout">Per-evaluation wall-clock budget; null = none.</param>
    public EmbeddedPolicyEngine(string entrypoint = EntrypointPath.Default, TimeSpan? evalTimeout = null)
    {
        EntrypointPath.Parse(entrypoint);
        _entrypoint = entrypoint;
        _timeout = evalTimeout;
    }

    /// <summary>The policy serving now, or null before the first successful load.</summary>
    public LoadedPolicy? Current => Volatile.Read(ref _current);

    /// <inheritdoc />
    public bool IsReady => Current is not null;

    /// <inheritdoc />
    public string Revision => Current?.Revision ?? "";

    /// <summary>
    /// Compiles <paramref name="bundle"/> (read from <paramref name="source"/>) and, only if that succeeds, makes it
    /// the serving policy. Throws <see cref="RegoException"/> (compile errors) and leaves the serving policy untouched.
    /// </summary>
    public LoadedPolicy Load(PolicyBundle bundle, string source)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        var compiled = RegoCompiler.Compile(bundle.Modules, bundle.Data);
        WarmUp(compiled);
        var loaded = new LoadedPolicy(compiled, bundle.Revision, source, DateTimeOffset.UtcNow);
        Interlocked.Exchange(ref _current, loaded);
        return loaded;
    }

    // One evaluation of a typical tools/call input before the policy serves: the first real Check then finds the
    // evaluator's code compiled (a cold first Check once took over 2 s, past the PEP's deadline). Its result, or
    // error, does not matter; a policy that cannot evaluate shows that on real Checks, which deny.
    private void WarmUp(CompiledPolicy compiled)
    {
        try
        {
            var now = DateTimeOffset.UtcNow;
            var request = new PolicyPoint.V1.CheckRequest
            {
                Workload = new PolicyPoint.V1.Workload { SpiffeId = "spiffe://warm-up.invalid/pdp" },
                Tool = new PolicyPoint.V1.Tool
                {
                    Server = "warm-up", Name = "read",
                    Arguments = new Google.Protobuf.WellKnownTypes.Struct { Fields = { ["path"] = Google.Protobuf.WellKnownTypes.Value.ForString("/warm-up") } },
                },
                Credential = new PolicyPoint.V1.Credential { Kind = PolicyPoint.V1.CredentialKind.Jit, ExpiresAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(now.AddMinutes(5)) },
                Session = new PolicyPoint.V1.Session { SessionId = "warm-up" },
            };
            var input = Service.InputBuilder.BuildInput(request, [], now);
            var value = compiled.Evaluate(_entrypoint, input.RegoValue, new EvalOptions { Now = now, Timeout = TimeSpan.FromSeconds(5) }, CancellationToken.None);
            if (value is not null) ToNode(value);
        }
        catch (Exception)
        {
            // Warm-up only: whatever goes wrong here goes wrong the same way for real Checks, which deny.
        }
    }

    /// <summary>
    /// Reads the bundle at <paramref name="path"/> (directory or .tar.gz, via <see cref="PolicyLoader"/>), compiles it
    /// and installs it. Throws <see cref="PolicyLoadException"/> or <see cref="RegoException"/>; the serving policy
    /// stays on any failure.
    /// </summary>
    public LoadedPolicy LoadFrom(string path) => Load(PolicyLoader.Load(path), Path.GetFullPath(path));

    /// <inheritdoc />
    public ValueTask<PolicyEvaluation> EvaluateAsync(PolicyInput input, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        var loaded = Current;
        if (loaded is null) return ValueTask.FromResult(PolicyEvaluation.Failed("", "no policy is loaded", 0));
        var start = Stopwatch.GetTimestamp();
        try
        {
            var options = new EvalOptions { Now = now, Timeout = _timeout };
            var value = loaded.Policy.Evaluate(_entrypoint, input.RegoValue, options, cancellationToken);
            var micros = (long)Stopwatch.GetElapsedTime(start).TotalMicroseconds;
            if (value is null) return ValueTask.FromResult(new PolicyEvaluation(null, false, loaded.Revision, null, micros));
            return ValueTask.FromResult(new PolicyEvaluation(ToNode(value), true, loaded.Revision, null, micros));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested) { throw; }
        catch (RegoException e)
        {
            return ValueTask.FromResult(PolicyEvaluation.Failed(loaded.Revision, e.Message, (long)Stopwatch.GetElapsedTime(start).TotalMicroseconds));
        }
        catch (Exception e)
        {
            // The engine promises RegoException only; anything else is still an error, and errors deny.
            return ValueTask.FromResult(PolicyEvaluation.Failed(loaded.Revision, $"internal_error: {e.GetType().Name}: {e.Message}",
                (long)Stopwatch.GetElapsedTime(start).TotalMicroseconds));
        }
    }
    /// <summary>
    /// The decision value as JSON nodes, equal to parsing <see cref="Value.ToJson"/> but without writing and
    /// re-reading the text for the usual shapes (objects with string keys, arrays, strings, booleans, null). Numbers,
    /// sets and objects with non-string keys go through their JSON text, so their form stays exactly as before.
    /// Throws what <see cref="JsonNode.Parse(string, JsonNodeOptions?, System.Text.Json.JsonDocumentOptions)"/> throws
    /// for such a subtree (e.g. keys that collide once written as JSON).
    /// </summary>
    internal static JsonNode? ToNode(Value value)
    {
        switch (value)
        {
            case NullValue: return null;
            case BooleanValue b: return JsonValue.Create(b.Value);
            case StringValue s: return JsonValue.Create(s.Value);
            case ArrayValue a:
                var items = new JsonNode?[a.Count];
                for (int i = 0; i < items.Length; i++) items[i] = ToNode(a[i]);
                return new JsonArray(items);
            case ObjectValue o:
                foreach (var e in o.Entries)
                    if (e.Key is not StringValue) return JsonNode.Parse(value.ToJson());
                var obj = new JsonObject();
                foreach (var e in o.Entries) obj.Add(((StringValue)e.Key).Value, ToNode(e.Value));
                return obj;
            default:
                return JsonNode.Parse(value.ToJson());
        }
    }
}
