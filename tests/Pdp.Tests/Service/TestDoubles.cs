using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Grpc.Net.Client;
using Pdp.DecisionLog;
using Pdp.Policy;
using Pdp.Service;

namespace Pdp.Tests.Service;

/// <summary>A policy engine whose answer the test programs; records every input it was asked about.</summary>
internal sealed class FakePolicyEngine : IPolicyEngine
{
    public Func<JsonObject, PolicyEvaluation> Decide { get; set; } =
        _ => new PolicyEvaluation(JsonNode.Parse("""{"allow": true}"""), true, "rev-1", null, 5);

    public ConcurrentQueue<JsonObject> Inputs { get; } = new();

    public bool Ready { get; set; } = true;

    public bool IsReady => Ready;

    public string Revision { get; set; } = "rev-1";

    public ValueTask<PolicyEvaluation> EvaluateAsync(PolicyInput input, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        Inputs.Enqueue((JsonObject)input.Document.DeepClone());
        return ValueTask.FromResult(Decide(input.Document));
    }

    /// <summary>A defined result with the decision object given as JSON.</summary>
    public static PolicyEvaluation Result(string json, string revision = "rev-1") => new(JsonNode.Parse(json), true, revision, null, 7);
}

/// <summary>An in-memory decision log with switchable failure, for tests that need no PostgreSQL.</summary>
internal sealed class InMemoryDecisionLog : IDecisionLog
{
    private readonly ConcurrentQueue<DecisionRecord> _records = new();

    public bool Unavailable { get; set; }

    public TimeSpan AppendDelay { get; set; }

    public int SessionLoads;

    public IReadOnlyList<DecisionRecord> Records => _records.ToArray();

    public async ValueTask AppendAsync(DecisionRecord record, CancellationToken cancellationToken = default)
    {
        if (AppendDelay > TimeSpan.Zero) await Task.Delay(AppendDelay, cancellationToken);
        if (Unavailable) throw new AuditUnavailableException("test: log unavailable");
        _records.Enqueue(record);
    }

    public ValueTask<DecisionRecord?> FindByRequestIdAsync(string requestId, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(_records.FirstOrDefault(r => r.RequestId == requestId));

    public ValueTask<IReadOnlyList<DecisionRecord>> GetSessionAsync(string sessionId, int limit, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref SessionLoads);
        IReadOnlyList<DecisionRecord> list = _records.Where(r => r.SessionId == sessionId).OrderBy(r => r.DecidedAt).TakeLast(limit).ToList();
        return ValueTask.FromResult(list);
    }

    public Task FlushAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

    public void Seed(DecisionRecord record) => _records.Enqueue(record);
}

/// <summary>A PDP hosted in-process on a free loopback port, with a gRPC channel to it.</summary>
internal sealed class InProcessPdp : IAsyncDisposable
{
    private InProcessPdp(RunningPdp pdp, GrpcChannel channel)
    {
        Pdp = pdp;
        Channel = channel;
    }

    public RunningPdp Pdp { get; }

    public GrpcChannel Channel { get; }

    public PolicyPoint.V1.AuthorizationService.AuthorizationServiceClient Authorization => new(Channel);

    public PolicyPoint.V1.DecisionLogService.DecisionLogServiceClient DecisionLog => new(Channel);

    public static async Task<InProcessPdp> StartAsync(PdpServerOptions options)
    {
        options.Listen = "127.0.0.1:0";
        var pdp = await PdpHost.StartAsync(options);
        return new InProcessPdp(pdp, GrpcChannel.ForAddress(pdp.Address));
    }

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await Pdp.DisposeAsync();
    }
}
