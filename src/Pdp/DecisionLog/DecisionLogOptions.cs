namespace Pdp.DecisionLog;

/// <summary>
/// Settings of <see cref="PostgresDecisionLog"/>.
/// </summary>
public sealed class DecisionLogOptions
{
    /// <summary>Npgsql connection string of the decision database (required).</summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>
    /// Folder of the local spool: records are appended there (one JSON line each, fsynced) while PostgreSQL is
    /// unreachable, and replayed once it is back. Default: <c>./spool</c> under the current directory.
    /// </summary>
    public string SpoolDirectory { get; set; } = Path.Combine(Environment.CurrentDirectory, "spool");

    /// <summary>
    /// Id of this writer's hash chain (one chain per writer). Must be stable across restarts of the same PDP
    /// instance so the chain continues; when null, <see cref="EffectiveWriterId"/> derives it from the host name
    /// and the spool directory (not from the process id).
    /// </summary>
    public string? WriterId { get; set; }

    /// <summary>
    /// Writer lanes: each has its own thread, connection and hash chain (writer ids <c>WriterId</c>,
    /// <c>WriterId#1</c>, ...), so that while one lane waits for PostgreSQL to commit, another writes the records
    /// queued meanwhile. 1..16, default 1. More lanes help when the commit round trip, not CPU, sets the pace
    /// (a remote database, more cores); on the 2-core bench machine with PostgreSQL beside the PDP, one lane gave
    /// more Checks/s (bench/Pdp.LoadBench, 20 s runs: 4,021 and 4,402 with one lane, 3,785 and 4,055 with two)
    /// because smaller batches cost PostgreSQL more CPU per row. Journal mode (<see cref="Acknowledge"/>) always
    /// uses one lane: appending to the spool is one fsync per batch, and one shipper writes one chain.
    /// </summary>
    public int WriterLanes { get; set; } = 1;

    /// <summary>
    /// When an append is acknowledged, that is, when the Check may answer. <see cref="DecisionLogAck.Commit"/>
    /// (default): once the record is committed in PostgreSQL (or, while PostgreSQL fails, fsynced to the spool).
    /// <see cref="DecisionLogAck.Journal"/>: once it is fsynced to the spool; a shipper thread moves the spool
    /// into PostgreSQL in large batches moments later.
    /// </summary>
    public DecisionLogAck Acknowledge { get; set; } = DecisionLogAck.Commit;

    /// <summary>
    /// Journal mode: how long the shipper lets records gather after the first one is spooled before it moves
    /// them into PostgreSQL. Larger batches cost PostgreSQL less CPU per row, and no Check waits for them; but
    /// records kept longer in memory live past the young GC generation and grow the PDP's heap (bench/Pdp.LoadBench,
    /// 20 s runs: PostgreSQL 84-99, 73-83 and 52-68 us per Check and peak RSS 195, 215 and 250 MB at 0, 2 and 20
    /// ms; 60 s runs: 51 us and 267-289 MB at 10 ms, 54 us and 221 MB at 5 ms). 0..5 s, default 5 ms.
    /// </summary>
    public TimeSpan ShipDelay { get; set; } = TimeSpan.FromMilliseconds(5);

    /// <summary>Size in bytes at which the spool moves on to a new segment file. Default 16 MiB.</summary>
    public long SpoolSegmentBytes { get; set; } = 16 << 20;

    /// <summary>Most records written in one transaction (group commit). Default 512.</summary>
    public int MaxBatch { get; set; } = 512;

    /// <summary>
    /// How long the writer waits for more records before writing a partial batch. 0..1 s, default 0: under load a
    /// batch forms anyway from the records that queue while the previous one is written, so a wait only adds
    /// latency (bench/Pdp.LoadBench, 24 callers: in commit mode, higher throughput and lower p50 without it; in
    /// journal mode, 1 ms saved about 5% of the PDP's CPU per Check but raised the append wait from 1.2-1.5 to
    /// 2.1-2.5 ms at p50 and lowered throughput, in two pairs of 25 s runs).
    /// </summary>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.Zero;

    /// <summary>
    /// Timeout of one batch write to PostgreSQL before the batch goes to the spool instead. Default 5 s.
    /// </summary>
    public TimeSpan WriteTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Longest pause between two spool replay attempts (exponential backoff cap). Default 5 s.</summary>
    public TimeSpan MaxReplayDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The writer id actually used: <see cref="WriterId"/> or a stable id from host name and spool path.</summary>
    public string EffectiveWriterId
    {
        get
        {
            if (!string.IsNullOrWhiteSpace(WriterId)) return WriterId!;
            var spool = Path.GetFullPath(SpoolDirectory);
            var digest = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(spool));
            return $"{Environment.MachineName.ToLowerInvariant()}-{Convert.ToHexStringLower(digest)[..8]}";
        }
    }

    /// <summary>Checks the options and throws <see cref="ArgumentException"/> naming the bad one.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(ConnectionString))
            throw new ArgumentException("DecisionLogOptions.ConnectionString is required.");
        if (string.IsNullOrWhiteSpace(SpoolDirectory))
            throw new ArgumentException("DecisionLogOptions.SpoolDirectory is required.");
        if (MaxBatch < 1 || MaxBatch > 100_000)
            throw new ArgumentException($"DecisionLogOptions.MaxBatch must be in 1..100000, got {MaxBatch}.");
        if (WriterLanes < 1 || WriterLanes > 16)
            throw new ArgumentException($"DecisionLogOptions.WriterLanes must be in 1..16, got {WriterLanes}.");
        if (MaxDelay < TimeSpan.Zero || MaxDelay > TimeSpan.FromSeconds(1))
            throw new ArgumentException($"DecisionLogOptions.MaxDelay must be in 0..1 s, got {MaxDelay}.");
        if (!Enum.IsDefined(Acknowledge))
            throw new ArgumentException($"DecisionLogOptions.Acknowledge must be Commit or Journal, got {Acknowledge}.");
        if (SpoolSegmentBytes < 4096)
            throw new ArgumentException($"DecisionLogOptions.SpoolSegmentBytes must be at least 4096, got {SpoolSegmentBytes}.");
        if (ShipDelay < TimeSpan.Zero || ShipDelay > TimeSpan.FromSeconds(5))
            throw new ArgumentException($"DecisionLogOptions.ShipDelay must be in 0..5 s, got {ShipDelay}.");
        if (WriteTimeout <= TimeSpan.Zero)
            throw new ArgumentException("DecisionLogOptions.WriteTimeout must be positive.");
        if (EffectiveWriterId.Length > 200)
            throw new ArgumentException("DecisionLogOptions.WriterId must be at most 200 characters.");
    }
}

/// <summary>When the decision log acknowledges a record (see <see cref="DecisionLogOptions.Acknowledge"/>).</summary>
public enum DecisionLogAck
{
    /// <summary>
    /// Committed in PostgreSQL; fsynced to the local spool only while PostgreSQL fails. A Check's decision is in
    /// table <c>decisions</c> by the time its answer leaves, at the cost of a commit round trip per batch.
    /// </summary>
    Commit,

    /// <summary>
    /// Fsynced to the local spool (the journal), which a shipper thread moves into PostgreSQL in batches of up to
    /// 2,000 records, usually within milliseconds. The answer waits for a local fsync only, and PostgreSQL spends
    /// less CPU per row in large batches. The spool directory must be on persistent storage: records acknowledged
    /// and not yet shipped live only there. Reads (idempotent retries, session history) see spooled records.
    /// </summary>
    Journal,
}
