using Microsoft.Extensions.Logging;

namespace Pdp.DecisionLog;

/// <summary>
/// <see cref="IDecisionLog"/> over PostgreSQL with group commit, a per-writer hash chain and a local spool.
/// (Skeleton: signatures only; implementation in progress.)
/// </summary>
public sealed class PostgresDecisionLog : IDecisionLog, IAsyncDisposable
{
    private readonly DecisionLogOptions _options;
    private readonly ILogger _logger;

    /// <summary>Creates the log; call <see cref="StartAsync"/> before appending.</summary>
    public PostgresDecisionLog(DecisionLogOptions options, ILogger<PostgresDecisionLog> logger)
    {
        _options = options;
        _logger = logger;
    }

    /// <summary>Recovers the chain head and starts the writer.</summary>
    public Task StartAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

    /// <inheritdoc />
    public ValueTask AppendAsync(DecisionRecord record, CancellationToken cancellationToken = default) =>
        throw new NotImplementedException();

    /// <inheritdoc />
    public ValueTask<DecisionRecord?> FindByRequestIdAsync(string requestId, CancellationToken cancellationToken = default) =>
        throw new NotImplementedException();

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<DecisionRecord>> GetSessionAsync(string sessionId, int limit, CancellationToken cancellationToken = default) =>
        throw new NotImplementedException();

    /// <inheritdoc />
    public Task FlushAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

    /// <inheritdoc />
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
