using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Polly;
using Polly.Retry;

namespace Pdp.DecisionLog;

/// <summary>
/// <see cref="IDecisionLog"/> over PostgreSQL.
/// <list type="bullet">
/// <item>Group commit: <see cref="AppendAsync"/> queues the record; a writer lane takes up to
/// <see cref="DecisionLogOptions.MaxBatch"/> records (waiting at most <see cref="DecisionLogOptions.MaxDelay"/>
/// for more), writes them in one transaction (one COPY, text format) and then completes every waiter.
/// There are <see cref="DecisionLogOptions.WriterLanes"/> lanes, each a thread of its own (not a thread-pool one,
/// so that under load commits do not queue behind the Checks waiting for them) with its own connection and its
/// own hash chain, so one lane fills its next batch while another waits for PostgreSQL to commit.</item>
/// <item>Hash chain: each row gets the next <c>seq</c> of its lane's writer id (<see cref="WriterIds"/>) and
/// <c>record_hash = SHA-256(prev_hash || record)</c> (<see cref="DecisionChain"/>) when it is inserted into
/// PostgreSQL, not when it is spooled; the head is read back from the database, so a restart continues the
/// chain. Duplicate decision ids are skipped before chaining, so a replay never leaves a gap.</item>
/// <item>Spool: when a write fails, the batch is appended to the local spool (fsynced) and the waiters complete:
/// the records are durable. While the spool is not empty, new batches go there too (order is kept). A
/// shipper thread (Polly retry, exponential backoff with jitter) moves the spool into PostgreSQL and
/// empties it. Records spooled before a crash are replayed after the next start. When neither PostgreSQL nor
/// the spool can take a batch, its appends throw <see cref="AuditUnavailableException"/>.</item>
/// <item>Journal mode (<see cref="DecisionLogAck.Journal"/>): every batch goes to the spool first and is
/// acknowledged once fsynced; the shipper moves it into PostgreSQL right after (it lets records gather for
/// <see cref="DecisionLogOptions.ShipDelay"/>), in batches of up to 2,000 records, through one lane's chain. If
/// the spool fails, the batch is written to PostgreSQL directly.</item>
/// </list>
/// The constructor recovers the spool and starts the background tasks; <see cref="StartAsync"/> (optional)
/// prepares partitions eagerly. One instance per writer id and per spool directory (the spool is locked).
/// Thread safe.
/// </summary>
public sealed class PostgresDecisionLog : IDecisionLog, IAsyncDisposable
{
    private const int ReplayChunk = 2000;

    private readonly DecisionLogOptions _options;
    private readonly ILogger _logger;
    private readonly NpgsqlDataSource _dataSource;
    private readonly Lane[] _lanes;
    private readonly Spool _spool;
    // Records (and flush markers) waiting for a lane; guarded by _queueLock (Monitor, so idle lanes can wait on it).
    private readonly Queue<Pending> _queue = new();
    private readonly object _queueLock = new();
    private bool _queueClosed;
    private int _idleLanes;
    private int _runningLanes;
    private readonly SemaphoreSlim _gate = new(1, 1);            // serializes spool access (short: no database work)
    private readonly SemaphoreSlim _drainLock = new(1, 1);       // one drain of the spool into PostgreSQL at a time
    private readonly AutoResetEvent _shipSignal = new(false);    // something was spooled
    private readonly CancellationTokenSource _stopping = new();
    private readonly PendingIndex _pending = new();
    private readonly ResiliencePipeline _replayRetry;
    private readonly TaskCompletionSource _lanesDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _shipperDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly bool _journal;
    private bool _spoolUsable;
    private volatile bool _closing;
    private long _dbDownUntilTicks;   // UTC ticks; reads skip PostgreSQL until then (set by every failure)
    private int _disposed;
    private int _spooledCount;

    // A record to write, or (Record null) a flush marker.
    private sealed record Pending(DecisionRecord Record, TaskCompletionSource Done);

    // One writer lane: a thread, and a store with its own connection and chain. The store serves one caller at a
    // time (Lock): the lane's thread, or for lane 0 also the spool replayer.
    private sealed class Lane(DecisionStore store)
    {
        public readonly DecisionStore Store = store;
        public readonly SemaphoreSlim Lock = new(1, 1);
        public TaskCompletionSource? Current;   // completes when the batch the lane is writing is done; _queueLock
    }

    /// <summary>
    /// Creates the log: validates <paramref name="options"/> (<see cref="ArgumentException"/> when invalid),
    /// opens the spool (a spool that cannot be opened is logged, not thrown: appends then depend on PostgreSQL
    /// alone) and starts the writer and the replayer.
    /// </summary>
    public PostgresDecisionLog(DecisionLogOptions options, ILogger<PostgresDecisionLog>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        var csb = new NpgsqlConnectionStringBuilder(options.ConnectionString);
        // Fail fast on a dead server: the spool takes over, so long connect waits only add latency.
        if (!options.ConnectionString.Contains("Timeout", StringComparison.OrdinalIgnoreCase)) csb.Timeout = 3;
        _dataSource = NpgsqlDataSource.Create(csb.ConnectionString);
        WriterId = options.EffectiveWriterId;
        _journal = options.Acknowledge == DecisionLogAck.Journal;
        // Journal mode needs one lane: it only appends to the spool, and the shipper writes one chain.
        var lanes = _journal ? 1 : options.WriterLanes;
        WriterIds = [.. Enumerable.Range(0, lanes).Select(i => i == 0 ? WriterId : $"{WriterId}#{i}")];
        _lanes = [.. WriterIds.Select(id => new Lane(new DecisionStore(_dataSource, id)))];
        _spool = new Spool(options.SpoolDirectory, options.SpoolSegmentBytes);
        try
        {
            var recovered = _spool.Open(line => _logger.LogError("Decision spool: unreadable line skipped: {Line}", line),
                PendingIndex.Capacity);
            _spoolUsable = true;
            foreach (var r in recovered) _pending.Add(r);
            _spooledCount = recovered.Count; // at most the index capacity: a count for tests and metrics, not exact
            if (_spool.HasPending)
                _logger.LogWarning("Decision spool {Path} holds records from a previous run ({Count} or more); replaying",
                    _spool.DirectoryPath, recovered.Count);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _logger.LogError(e, "Decision spool directory {Dir} is not usable; decisions depend on PostgreSQL alone", options.SpoolDirectory);
        }
        _replayRetry = new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<Exception>(e => e is not OperationCanceledException),
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(100),
                MaxDelay = options.MaxReplayDelay,
                OnRetry = a =>
                {
                    _logger.LogWarning("Decision spool replay failed (attempt {Attempt}), retrying in {Delay}: {Error}",
                        a.AttemptNumber + 1, a.RetryDelay, a.Outcome.Exception?.Message);
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
        _runningLanes = _lanes.Length;
        for (var i = 0; i < _lanes.Length; i++)
        {
            var lane = _lanes[i];
            new Thread(() => LaneLoop(lane)) { IsBackground = true, Name = $"pdp-decision-writer-{i}" }.Start();
        }
        new Thread(ShipperLoop) { IsBackground = true, Name = "pdp-decision-shipper" }.Start();
        if (_spool.HasPending) _shipSignal.Set();
    }

    /// <summary>The id of this log's first hash chain (<see cref="DecisionLogOptions.EffectiveWriterId"/>).</summary>
    public string WriterId { get; }

    /// <summary>
    /// The writer ids of this log's chains, one per lane: <see cref="WriterId"/>, then <c>WriterId#1</c>,
    /// <c>WriterId#2</c>, ... Each is one chain for <c>pdp verify-log</c>.
    /// </summary>
    public IReadOnlyList<string> WriterIds { get; }

    /// <summary>Records acknowledged through the spool and not yet replayed into PostgreSQL.</summary>
    public int SpooledCount => Volatile.Read(ref _spooledCount);

    /// <summary>
    /// Optional eager start: creates this month's and next month's partitions (the writer also does it whenever a
    /// batch reaches a new month; the chain head is read at the first insert). Database errors are logged, not
    /// thrown (the spool covers an unreachable database).
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            var lane = _lanes[0];
            await lane.Lock.WaitAsync(cancellationToken);
            try { lane.Store.EnsurePartitions(DateTimeOffset.UtcNow, _options.WriteTimeout); }
            finally { lane.Lock.Release(); }
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException)
        {
            _logger.LogWarning(e, "Decision log: PostgreSQL not reachable at start-up; records will be spooled");
        }
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The record lacks DecisionId or Decision.</exception>
    /// <exception cref="AuditUnavailableException">The log was disposed (shutdown): the record cannot be made durable.</exception>
    public async ValueTask AppendAsync(DecisionRecord record, CancellationToken cancellationToken = default)
    {
        if (Volatile.Read(ref _disposed) != 0) throw new AuditUnavailableException("decision log is shut down");
        var normalized = DecisionChain.Normalize(record);
        var pending = new Pending(normalized, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        _pending.Add(normalized);
        if (!TryEnqueue(pending))
        {
            _pending.Remove([normalized]);
            throw new AuditUnavailableException("decision log is shut down");
        }
        // Cancelling stops the wait only: the record stays queued and is still written.
        await pending.Done.Task.WaitAsync(cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>Looks at records not yet in PostgreSQL (queued or spooled) first. If PostgreSQL fails, returns
    /// what the pending records give (possibly null) and logs a warning.</remarks>
    public async ValueTask<DecisionRecord?> FindByRequestIdAsync(string requestId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(requestId);
        var pending = _pending.FindByRequestId(requestId);
        if (pending is not null || DbRecentlyFailed) return pending;
        try
        {
            return await _lanes[0].Store.FindByRequestIdAsync(requestId, cancellationToken) ?? _pending.FindByRequestId(requestId);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException)
        {
            MarkDbFailed();
            _logger.LogWarning(e, "Decision log: lookup of request id {RequestId} failed", requestId);
            return null;
        }
    }

    /// <inheritdoc />
    /// <remarks>Merges stored and pending (queued or spooled) records. If PostgreSQL fails, returns the pending
    /// ones only and logs a warning. <paramref name="limit"/> must be positive.</remarks>
    public async ValueTask<IReadOnlyList<DecisionRecord>> GetSessionAsync(string sessionId, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(sessionId);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        var stored = new List<DecisionRecord>();
        if (!DbRecentlyFailed)
        {
            try
            {
                stored = await _lanes[0].Store.GetSessionAsync(sessionId, limit, cancellationToken);
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException)
            {
                MarkDbFailed();
                _logger.LogWarning(e, "Decision log: session history of {SessionId} incomplete (PostgreSQL failed)", sessionId);
            }
        }
        var seen = stored.Select(r => r.DecisionId).ToHashSet(StringComparer.Ordinal);
        var all = stored.Concat(_pending.ForSession(sessionId).Where(r => seen.Add(r.DecisionId)))
            .OrderBy(r => r.DecidedAt).ThenBy(r => r.DecisionId, StringComparer.Ordinal).ToList();
        return all.Count > limit ? all.GetRange(all.Count - limit, limit) : all;
    }

    /// <inheritdoc />
    public bool IsPending(string decisionId) => _pending.Contains(decisionId);

    /// <summary>
    /// Waits until every record appended before the call has been written (durable, or failed to its own
    /// caller), and tries once to replay the spool into
    /// PostgreSQL (a replay failure is logged, not thrown: spooled records are durable already).
    /// </summary>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        var marker = new Pending(null!, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        if (TryEnqueue(marker)) await marker.Done.Task.WaitAsync(cancellationToken);
        if (_spool.HasPending)
        {
            try { await DrainSpoolOffPoolAsync(cancellationToken); }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                _logger.LogWarning("Decision spool not replayed at flush: {Error}", e.Message);
            }
        }
    }

    /// <summary>Stops accepting records, writes everything queued (to PostgreSQL or the spool), tries a last
    /// replay, and stops the background tasks.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        lock (_queueLock)
        {
            _queueClosed = true;
            Monitor.PulseAll(_queueLock);
        }
        await _lanesDone.Task;
        _closing = true;   // the last drain may empty the spool directory, also in journal mode
        try { await DrainSpoolOffPoolAsync(CancellationToken.None); }
        catch (Exception e) { _logger.LogWarning("Decision spool kept for the next start: {Error}", e.Message); }
        _stopping.Cancel();
        await _shipperDone.Task;
        _spool.Dispose();
        foreach (var lane in _lanes) lane.Store.Dispose();
        await _dataSource.DisposeAsync();
        _stopping.Dispose();
        _shipSignal.Dispose();
    }

    // Writes go to the spool while it holds records (keeps their order) or while PostgreSQL recently failed.
    private bool DbKnownDown => _spool.HasPending || DbRecentlyFailed;

    // Reads skip PostgreSQL for a while after a failure, so an outage does not add a connect timeout to every Check.
    private bool DbRecentlyFailed => DateTime.UtcNow.Ticks < Interlocked.Read(ref _dbDownUntilTicks);

    private void MarkDbFailed() => Interlocked.Exchange(ref _dbDownUntilTicks, (DateTime.UtcNow + _options.MaxReplayDelay).Ticks);

    // False once the log is shut down: the record is not queued.
    private bool TryEnqueue(Pending pending)
    {
        lock (_queueLock)
        {
            if (_queueClosed) return false;
            _queue.Enqueue(pending);
            if (_idleLanes > 0) Monitor.Pulse(_queueLock);
        }
        return true;
    }

    private void LaneLoop(Lane lane)
    {
        try
        {
            var batch = new List<Pending>(_options.MaxBatch);
            while (true)
            {
                batch.Clear();
                List<Task>? others = null;
                TaskCompletionSource current;
                lock (_queueLock)
                {
                    while (_queue.Count == 0 && !_queueClosed)
                    {
                        _idleLanes++;
                        Monitor.Wait(_queueLock);
                        _idleLanes--;
                    }
                    if (_queue.Count == 0) return;   // closed and drained
                    lane.Current = current = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    TakeLocked(lane, batch, ref others);
                }
                if (batch.Count < _options.MaxBatch && _options.MaxDelay > TimeSpan.Zero)
                {
                    // Give concurrent callers a moment to join this transaction (group commit).
                    Thread.Sleep(_options.MaxDelay);
                    lock (_queueLock) TakeLocked(lane, batch, ref others);
                }
                try
                {
                    WriteBatch(lane, batch, others);
                }
                catch (Exception e)
                {
                    // Never let a lane die: fail this batch's waiters and go on.
                    _logger.LogError(e, "Decision log writer: unexpected error");
                    foreach (var p in batch) p.Done.TrySetException(new AuditUnavailableException("decision log writer failed", e));
                }
                lock (_queueLock) lane.Current = null;
                current.TrySetResult();
            }
        }
        finally
        {
            if (Interlocked.Decrement(ref _runningLanes) == 0) _lanesDone.TrySetResult();
        }
    }

    // Moves queued items into the lane's batch. Everything queued before a flush marker is in this batch or in the
    // batch another lane is writing now, so the marker also waits for those (others).
    private void TakeLocked(Lane lane, List<Pending> batch, ref List<Task>? others)
    {
        while (batch.Count < _options.MaxBatch && _queue.TryDequeue(out var p))
        {
            batch.Add(p);
            if (p.Record is not null) continue;
            foreach (var other in _lanes)
                if (other != lane && other.Current is { } busy) (others ??= []).Add(busy.Task);
        }
    }

    private void WriteBatch(Lane lane, List<Pending> batch, List<Task>? others)
    {
        var records = new List<DecisionRecord>(batch.Count);
        foreach (var p in batch) if (p.Record is not null) records.Add(p.Record);
        Exception? dbError = null, spoolError = null;
        var durable = records.Count == 0;
        // Commit mode: PostgreSQL, then the spool. Journal mode: the spool, then PostgreSQL.
        if (!durable && _journal) durable = TrySpool(records, out spoolError);
        if (!durable && !(_journal ? DbRecentlyFailed : DbKnownDown)) durable = TryDatabase(lane, records, out dbError);
        if (!durable && !_journal) durable = TrySpool(records, out spoolError);
        Exception? failure = null;
        if (!durable)
        {
            failure = new AuditUnavailableException(
                $"decision not durable: PostgreSQL failed ({dbError?.Message ?? "marked down"}) and the spool failed ({spoolError?.Message ?? "not tried"})",
                spoolError ?? dbError);
            _pending.Remove(records);
            _logger.LogError("Decision log: {Error}", failure.Message);
        }
        foreach (var p in batch)
        {
            if (failure is not null) p.Done.TrySetException(failure);
            else if (p.Record is null && others is not null)
            {
                var marker = p.Done;
                Task.WhenAll(others).ContinueWith(_ => marker.TrySetResult(), CancellationToken.None,
                    TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
            else p.Done.TrySetResult();
        }
    }

    // Inserts the batch through the lane's store; false (and the error) when PostgreSQL fails or times out.
    private bool TryDatabase(Lane lane, List<DecisionRecord> records, out Exception? error)
    {
        error = null;
        try
        {
            Insert(lane, records, _options.WriteTimeout, expectDuplicates: false, CancellationToken.None);
            return true;
        }
        catch (Exception e)
        {
            _logger.LogWarning("Decision log: PostgreSQL write of {Count} records failed{Next}: {Error}", records.Count,
                _journal ? "" : ", spooling", e.Message);
            error = e;
            return false;
        }
    }

    // One insert through a lane's store, which serves one caller at a time (the lane's thread, or for lane 0 also
    // the shipper). On success the records leave the pending index; on failure PostgreSQL is marked down and the
    // error rethrown.
    private void Insert(Lane lane, List<DecisionRecord> records, TimeSpan timeout, bool expectDuplicates, CancellationToken ct)
    {
        lane.Lock.Wait(ct);
        try
        {
            lane.Store.InsertBatch(records, timeout, expectDuplicates);
        }
        catch
        {
            MarkDbFailed();
            throw;
        }
        finally
        {
            lane.Lock.Release();
        }
        _pending.Remove(records);
    }

    // Appends the batch to the spool (fsynced) and wakes the shipper; false (and the error) when the spool fails.
    private bool TrySpool(List<DecisionRecord> records, out Exception? error)
    {
        error = null;
        _gate.Wait();
        try
        {
            if (!_spoolUsable)
            {
                _spool.Open();
                _spoolUsable = true;
            }
            _spool.Append(records);
            Interlocked.Add(ref _spooledCount, records.Count);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            if (_journal) _logger.LogWarning("Decision log: spool append of {Count} records failed, writing to PostgreSQL: {Error}", records.Count, e.Message);
            error = e;
            return false;
        }
        finally
        {
            _gate.Release();
        }
        _shipSignal.Set();
        return true;
    }

    // The shipper: a thread of its own that moves the spool into PostgreSQL whenever something was spooled (and
    // every MaxReplayDelay in case a signal was missed), retrying with backoff while PostgreSQL fails.
    private void ShipperLoop()
    {
        var ct = _stopping.Token;
        WaitHandle[] wake = [_shipSignal, ct.WaitHandle];
        try
        {
            while (!ct.IsCancellationRequested)
            {
                try
                {
                    WaitHandle.WaitAny(wake, _options.MaxReplayDelay);
                    if (ct.IsCancellationRequested || !_spool.HasPending) continue;
                    // Journal mode: let records gather so PostgreSQL gets large batches (less CPU per row, fewer
                    // wake-ups); nobody waits for them, a flush drains at once.
                    if (_journal && _options.ShipDelay > TimeSpan.Zero && ct.WaitHandle.WaitOne(_options.ShipDelay)) return;
                    // Journal mode ships one chunk per wake-up, so that every batch had ShipDelay to gather.
                    _replayRetry.Execute(token => DrainSpool(untilEmpty: !_journal, token), ct);
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e)
                {
                    _logger.LogError(e, "Decision spool shipper: unexpected error");
                }
            }
        }
        finally
        {
            _shipperDone.TrySetResult();
        }
    }

    // The drain is synchronous (the store's insert side is) and may take seconds after an outage: it runs on a thread
    // of its own, never on a pool thread the Checks need (the pool does not grow by hill climbing, see Pdp.csproj).
    private Task DrainSpoolOffPoolAsync(CancellationToken ct) =>
        Task.Factory.StartNew(() => DrainSpool(untilEmpty: true, ct), ct, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    /// <summary>
    /// Moves the spool into PostgreSQL chunk by chunk (through lane 0's chain); unless <paramref name="untilEmpty"/>,
    /// stops after a chunk smaller than the largest. Once all is shipped it empties the spool (in journal mode
    /// only at shutdown: while serving, fully shipped segments are deleted as the spool rotates). Throws on a
    /// database error; what was shipped stays shipped. Appends go on meanwhile: the spool lock is held only to read
    /// a chunk and to advance past it, never across a database write.
    /// </summary>
    private void DrainSpool(bool untilEmpty, CancellationToken ct)
    {
        _drainLock.Wait(ct);
        try
        {
            while (true)
            {
                List<DecisionRecord> records;
                Spool.Position next;
                _gate.Wait(ct);
                try
                {
                    if (!_spool.HasPending)
                    {
                        if (_spoolUsable && (!_journal || _closing) && _spool.FileBytes > 0)
                        {
                            _spool.Reset();
                            Volatile.Write(ref _spooledCount, 0);
                            if (!_journal) _logger.LogInformation("Decision spool replayed into PostgreSQL and emptied");
                        }
                        Interlocked.Exchange(ref _dbDownUntilTicks, 0);
                        return;
                    }
                    (records, next) = _spool.ReadNext(ReplayChunk, line => _logger.LogError("Decision spool: unreadable line skipped: {Line}", line));
                }
                finally
                {
                    _gate.Release();
                }
                if (records.Count > 0)
                {
                    // a journal holds only new records, except after a crash (the fast path then falls back)
                    Insert(_lanes[0], records, _options.WriteTimeout * 4, expectDuplicates: !_journal, ct);
                    Interlocked.Add(ref _spooledCount, -records.Count);
                }
                _gate.Wait(CancellationToken.None);   // shipped: always record it, or it is shipped again
                try { _spool.Advance(next); }
                finally { _gate.Release(); }
                if (!untilEmpty && records.Count < ReplayChunk) return;
            }
        }
        finally
        {
            _drainLock.Release();
        }
    }

    /// <summary>
    /// Records acknowledged (or queued) but not yet in PostgreSQL, indexed for the read paths. Holds at most
    /// <see cref="Capacity"/> records, dropping the oldest: during a long outage memory stays bounded, the
    /// dropped records stay durable in the spool, and only lookups of them miss until they are replayed.
    /// </summary>
    private sealed class PendingIndex
    {
        public const int Capacity = 200_000;
        private readonly Lock _lock = new();
        private readonly Dictionary<string, DecisionRecord> _byId = new(StringComparer.Ordinal);
        private readonly Dictionary<string, DecisionRecord> _byRequest = new(StringComparer.Ordinal);
        private readonly Dictionary<string, Dictionary<string, DecisionRecord>> _bySession = new(StringComparer.Ordinal);
        private readonly Queue<string> _order = new();

        public void Add(DecisionRecord r)
        {
            lock (_lock)
            {
                if (!_byId.TryAdd(r.DecisionId, r)) return;
                _order.Enqueue(r.DecisionId);
                if (r.RequestId is { } req) _byRequest.TryAdd(req, r);
                if (r.SessionId is { } s)
                {
                    if (!_bySession.TryGetValue(s, out var m)) _bySession[s] = m = new(StringComparer.Ordinal);
                    m[r.DecisionId] = r;
                }
                while (_byId.Count > Capacity && _order.TryDequeue(out var oldest)) RemoveLocked(oldest);
                // ids already removed linger in _order; trim them so it does not grow without bound
                while (_order.Count > 2 * Capacity && _order.TryPeek(out var head) && !_byId.ContainsKey(head)) _order.Dequeue();
            }
        }

        public void Remove(IEnumerable<DecisionRecord> records)
        {
            lock (_lock)
            {
                foreach (var r in records) RemoveLocked(r.DecisionId);
                if (_byId.Count == 0) _order.Clear();
            }
        }

        private void RemoveLocked(string decisionId)
        {
            if (!_byId.Remove(decisionId, out var stored)) return;
            if (stored.RequestId is { } req && _byRequest.TryGetValue(req, out var x) && x.DecisionId == stored.DecisionId) _byRequest.Remove(req);
            if (stored.SessionId is { } s && _bySession.TryGetValue(s, out var m))
            {
                m.Remove(stored.DecisionId);
                if (m.Count == 0) _bySession.Remove(s);
            }
        }

        public bool Contains(string decisionId)
        {
            lock (_lock) return _byId.ContainsKey(decisionId);
        }

        public DecisionRecord? FindByRequestId(string requestId)
        {
            lock (_lock) return _byRequest.GetValueOrDefault(requestId);
        }

        public List<DecisionRecord> ForSession(string sessionId)
        {
            lock (_lock) return _bySession.TryGetValue(sessionId, out var m) ? [.. m.Values] : [];
        }
    }
}
