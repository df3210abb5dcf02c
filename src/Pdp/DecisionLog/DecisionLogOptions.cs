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
    /// because smaller batches cost PostgreSQL more CPU per row.
    /// </summary>
    public int WriterLanes { get; set; } = 1;

    /// <summary>Most records written in one transaction (group commit). Default 512.</summary>
    public int MaxBatch { get; set; } = 512;

    /// <summary>
    /// How long the writer waits for more records before committing a partial batch. Default 0: under load a
    /// batch forms anyway from the records that queue while the previous transaction commits, so a wait only adds
    /// latency (measured with bench/Pdp.LoadBench, 24 callers: higher throughput and lower p50 without it).
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
        if (WriteTimeout <= TimeSpan.Zero)
            throw new ArgumentException("DecisionLogOptions.WriteTimeout must be positive.");
        if (EffectiveWriterId.Length > 200)
            throw new ArgumentException("DecisionLogOptions.WriterId must be at most 200 characters.");
    }
}
