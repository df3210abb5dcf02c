using System.Globalization;
using System.Text;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

namespace Pdp.DecisionLog;

/// <summary>
/// SQL access to the decision tables: the batch insert with idempotency and chaining, chain head recovery,
/// and the reads used by <see cref="PostgresDecisionLog"/> and <see cref="ChainVerifier"/>.
/// The insert side (<see cref="InsertBatch"/>, <see cref="EnsurePartitions"/>) is synchronous and not thread safe:
/// one caller at a time (its writer lane's lock), over one connection it keeps open. It is synchronous because it runs
/// on the log's own writer thread: an async write would queue each of its continuations behind the Checks waiting
/// on the thread pool, and under load that queueing, not PostgreSQL, set the pace of every commit (measured with
/// bench/Pdp.LoadBench: the writer was busy 99% of the time for 2.7 ms per batch of 12 records). Reads are async and
/// thread safe.
/// </summary>
internal sealed class DecisionStore(NpgsqlDataSource dataSource, string writerId) : IDisposable
{
    /// <summary>Column list of table decisions in the order used by COPY and by <see cref="ReadRecord"/>.</summary>
    internal const string Columns =
        "decision_id, decided_at, request_id, spiffe_id, issuer, subject, workload_attributes, server, tool, " +
        "annotations, resource_type, resource_id, resource_sensitivity, context, credential_id, credential_kind, " +
        "credential_issued_at, credential_expires_at, session_id, parent_decision_id, on_behalf_of_subject, " +
        "decision, reasons, exception_path, obligations, policy_revision, input_hash, masked_input, eval_micros, " +
        "labels, writer_id, seq, prev_hash, record_hash";

    private const string CopyCommand = $"COPY decisions ({Columns}) FROM STDIN";

    private static readonly JsonSerializerOptions ReasonJson = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    private (long Seq, string Hash)? _head;
    private readonly HashSet<(int, int)> _monthsEnsured = [];
    private NpgsqlConnection? _conn;   // the insert side's own connection, reopened after any failure

    /// <summary>The writer id whose chain this store extends.</summary>
    public string WriterId => writerId;

    /// <summary>Forgets the cached chain head so the next insert reloads it (after a failure of unknown outcome).</summary>
    public void ResetHead() => _head = null;

    /// <summary>Closes the insert side's connection.</summary>
    public void Dispose() => DropConnection();

    /// <summary>
    /// Creates the monthly partitions for <paramref name="at"/> and the next month (idempotent). Throws
    /// NpgsqlException (or TimeoutException) when PostgreSQL fails or takes longer than <paramref name="timeout"/>.
    /// </summary>
    public void EnsurePartitions(DateTimeOffset at, TimeSpan timeout)
    {
        try
        {
            using var cmd = new NpgsqlCommand("SELECT ensure_decision_partitions(@at)", Connection()) { CommandTimeout = Seconds(timeout) };
            cmd.Parameters.AddWithValue("at", at.UtcDateTime);
            cmd.ExecuteScalar();
            _monthsEnsured.Add((at.UtcDateTime.Year, at.UtcDateTime.Month));
        }
        catch
        {
            DropConnection();
            throw;
        }
    }

    /// <summary>
    /// Writes normalized records atomically: records whose decision_id is already stored (or repeated in the
    /// batch) are skipped, the others get the next seq numbers of this writer's chain. Returns how many rows were
    /// inserted.
    /// Fast path (no duplicates expected): one COPY into decisions in its own implicit transaction (two round
    /// trips; its statement trigger fills decision_ids). A duplicate decision_id makes it fail with a unique
    /// violation, and the batch is then redone on the slow path, a transaction that first asks decision_ids which
    /// ids exist. <paramref name="expectDuplicates"/> (spool replays) goes straight to the slow path.
    /// Each round trip may take up to <paramref name="timeout"/>. Throws on any database error or timeout; the
    /// chain head then reloads from the database.
    /// </summary>
    public int InsertBatch(IReadOnlyList<DecisionRecord> records, TimeSpan timeout, bool expectDuplicates = false)
    {
        if (records.Count == 0) return 0;
        try
        {
            foreach (var r in records)
            {
                var at = r.DecidedAt.UtcDateTime;
                if (!_monthsEnsured.Contains((at.Year, at.Month)))
                    EnsurePartitions(new DateTimeOffset(at.Year, at.Month, 1, 0, 0, 0, TimeSpan.Zero), timeout);
            }
            var conn = Connection();
            var head = _head ?? LoadHead(conn, null, timeout);
            if (!expectDuplicates)
            {
                try
                {
                    return CopyChained(conn, records, [], head, timeout);
                }
                catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
                {
                    _head = head;   // nothing was written: the statement failed as a whole
                }
            }
            using var tx = conn.BeginTransaction();
            var existing = new HashSet<string>(StringComparer.Ordinal);
            using (var cmd = new NpgsqlCommand("SELECT decision_id FROM decision_ids WHERE decision_id = ANY(@ids)", conn, tx) { CommandTimeout = Seconds(timeout) })
            {
                cmd.Parameters.Add(new NpgsqlParameter("ids", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = records.Select(r => r.DecisionId).Distinct().ToArray() });
                using var reader = cmd.ExecuteReader();
                while (reader.Read()) existing.Add(reader.GetString(0));
            }
            // re-read the head too: after a (writer_id, seq) conflict another process extended this chain
            head = LoadHead(conn, tx, timeout);
            var inserted = CopyChained(conn, records, existing, head, timeout);
            tx.Commit();
            return inserted;
        }
        catch
        {
            // The commit may or may not have happened: reload the head from the database next time.
            _head = null;
            DropConnection();
            throw;
        }
    }

    private NpgsqlConnection Connection()
    {
        if (_conn is { State: System.Data.ConnectionState.Open }) return _conn;
        DropConnection();
        var conn = dataSource.CreateConnection();
        try
        {
            conn.Open();
        }
        catch
        {
            conn.Dispose();
            throw;
        }
        return _conn = conn;
    }

    private void DropConnection()
    {
        var conn = _conn;
        _conn = null;
        try { conn?.Dispose(); }
        catch (Exception) { /* a broken connection may throw on close; it is discarded either way */ }
    }

    private static int Seconds(TimeSpan t) => Math.Max(1, (int)Math.Ceiling(t.TotalSeconds));

    /// <summary>
    /// Chains the records not in <paramref name="skip"/> (nor repeated) after <paramref name="head"/> and COPYs
    /// them into decisions; sets <c>_head</c> to the new head once PostgreSQL has accepted the COPY (in autocommit
    /// that is the commit; inside a transaction the caller commits, or resets the head on failure).
    /// </summary>
    private int CopyChained(NpgsqlConnection conn, IReadOnlyList<DecisionRecord> records,
        HashSet<string> skip, (long Seq, string Hash) head, TimeSpan timeout)
    {
        var (seq, prev) = head;
        // COPY in text format, rows built as text: Npgsql's typed binary writes cost ~1 µs per field (~45 µs per
        // row here), building the text rows a few µs (measured on this machine). The rows go out in chunks of
        // about 16K chars so that a large batch never builds one large-object-heap string (each of those made
        // the GC run a full collection sooner).
        const int ChunkChars = 16 * 1024;
        var sb = new StringBuilder(ChunkChars + 4096);
        var seen = new HashSet<string>(skip, StringComparer.Ordinal);
        var count = 0;
        TextWriter? writer = null;
        try
        {
            foreach (var r in records)
            {
                if (!seen.Add(r.DecisionId)) continue;
                seq++;
                var hash = DecisionChain.ComputeHash(prev, writerId, seq, r);
                AppendRow(sb, r, seq, prev, hash);
                prev = hash;
                count++;
                if (sb.Length >= ChunkChars)
                {
                    writer ??= BeginCopy(conn, timeout);
                    writer.Write(sb);
                    sb.Clear();
                }
            }
            if (sb.Length > 0)
            {
                writer ??= BeginCopy(conn, timeout);
                writer.Write(sb);
            }
        }
        finally
        {
            // Ends the COPY (sends the rows' end and waits for PostgreSQL's answer, throwing its error if any).
            writer?.Dispose();
        }
        _head = (seq, prev);
        return count;
    }

    private static TextWriter BeginCopy(NpgsqlConnection conn, TimeSpan timeout)
    {
        var writer = conn.BeginTextImport(CopyCommand);
        if (writer is NpgsqlCopyTextWriter copy) copy.Timeout = (int)Math.Min(int.MaxValue, timeout.TotalMilliseconds);
        return writer;
    }

    private void AppendRow(StringBuilder sb, DecisionRecord r, long s, string p, string h)
    {
        Field(sb, r.DecisionId).Append('\t');
        TimeField(sb, r.DecidedAt).Append('\t');
        Field(sb, r.RequestId).Append('\t');
        Field(sb, r.SpiffeId).Append('\t');
        Field(sb, r.Issuer).Append('\t');
        Field(sb, r.Subject).Append('\t');
        Field(sb, r.WorkloadAttributesJson).Append('\t');
        Field(sb, r.Server).Append('\t');
        Field(sb, r.Tool).Append('\t');
        Field(sb, r.AnnotationsJson).Append('\t');
        Field(sb, r.ResourceType).Append('\t');
        Field(sb, r.ResourceId).Append('\t');
        Field(sb, r.ResourceSensitivity).Append('\t');
        Field(sb, r.ContextJson).Append('\t');
        Field(sb, r.CredentialId).Append('\t');
        Field(sb, r.CredentialKind).Append('\t');
        TimeField(sb, r.CredentialIssuedAt).Append('\t');
        TimeField(sb, r.CredentialExpiresAt).Append('\t');
        Field(sb, r.SessionId).Append('\t');
        Field(sb, r.ParentDecisionId).Append('\t');
        Field(sb, r.OnBehalfOfSubject).Append('\t');
        Field(sb, r.Decision).Append('\t');
        Field(sb, ReasonsToJson(r.Reasons)).Append('\t');
        Field(sb, r.ExceptionPath).Append('\t');
        Field(sb, r.ObligationsJson).Append('\t');
        Field(sb, r.PolicyRevision).Append('\t');
        Field(sb, r.InputHash).Append('\t');
        Field(sb, r.MaskedInputJson).Append('\t');
        sb.Append(r.EvalMicros).Append('\t');
        Field(sb, ArrayLiteral(r.Labels)).Append('\t');
        Field(sb, writerId).Append('\t');
        sb.Append(s).Append('\t');
        Field(sb, p).Append('\t');
        Field(sb, h).Append('\n');
    }

    /// <summary>Last (seq, record_hash) of this writer's chain, or (0, genesis) when it has none.</summary>
    private (long Seq, string Hash) LoadHead(NpgsqlConnection conn, NpgsqlTransaction? tx, TimeSpan timeout)
    {
        using var cmd = new NpgsqlCommand(
            "SELECT seq, record_hash FROM decision_ids WHERE writer_id = @w ORDER BY seq DESC LIMIT 1", conn, tx) { CommandTimeout = Seconds(timeout) };
        cmd.Parameters.AddWithValue("w", writerId);
        using var reader = cmd.ExecuteReader();
        return reader.Read() ? (reader.GetInt64(0), reader.GetString(1)) : (0L, DecisionChain.GenesisHash);
    }

    /// <summary>The first decision stored for <paramref name="requestId"/>, or null.</summary>
    public async Task<DecisionRecord?> FindByRequestIdAsync(string requestId, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(
            $"SELECT {Columns} FROM decisions WHERE request_id = @r ORDER BY decided_at, decision_id LIMIT 1");
        cmd.Parameters.AddWithValue("r", requestId);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? ReadRecord(reader).Record : null;
    }

    /// <summary>The newest <paramref name="limit"/> decisions of a session, oldest first.</summary>
    public async Task<List<DecisionRecord>> GetSessionAsync(string sessionId, int limit, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(
            $"SELECT * FROM (SELECT {Columns} FROM decisions WHERE session_id = @s ORDER BY decided_at DESC, decision_id DESC LIMIT @n) t " +
            "ORDER BY decided_at, decision_id");
        cmd.Parameters.AddWithValue("s", sessionId);
        cmd.Parameters.AddWithValue("n", limit);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var list = new List<DecisionRecord>();
        while (await reader.ReadAsync(ct)) list.Add(ReadRecord(reader).Record);
        return list;
    }

    /// <summary>Chain fields of a stored row.</summary>
    internal readonly record struct ChainFields(string WriterId, long Seq, string PrevHash, string RecordHash);

    /// <summary>Reads one row selected with <see cref="Columns"/> (in that order).</summary>
    internal static (DecisionRecord Record, ChainFields Chain) ReadRecord(NpgsqlDataReader r)
    {
        string? S(int i) => r.IsDBNull(i) ? null : r.GetString(i);
        DateTimeOffset? T(int i) => r.IsDBNull(i) ? null : new DateTimeOffset(r.GetFieldValue<DateTime>(i), TimeSpan.Zero);
        var record = new DecisionRecord
        {
            DecisionId = r.GetString(0),
            DecidedAt = T(1)!.Value,
            RequestId = S(2),
            SpiffeId = S(3),
            Issuer = S(4),
            Subject = S(5),
            WorkloadAttributesJson = CanonicalJson.Canonicalize(S(6)),
            Server = S(7),
            Tool = r.GetString(8),
            AnnotationsJson = CanonicalJson.Canonicalize(S(9)),
            ResourceType = S(10),
            ResourceId = S(11),
            ResourceSensitivity = S(12),
            ContextJson = CanonicalJson.Canonicalize(S(13)),
            CredentialId = S(14),
            CredentialKind = S(15),
            CredentialIssuedAt = T(16),
            CredentialExpiresAt = T(17),
            SessionId = S(18),
            ParentDecisionId = S(19),
            OnBehalfOfSubject = S(20),
            Decision = r.GetString(21),
            Reasons = ReasonsFromJson(r.GetString(22)),
            ExceptionPath = S(23),
            ObligationsJson = CanonicalJson.Canonicalize(S(24)),
            PolicyRevision = r.GetString(25),
            InputHash = r.GetString(26),
            MaskedInputJson = CanonicalJson.Canonicalize(S(27)),
            EvalMicros = r.GetInt64(28),
            Labels = r.GetFieldValue<string[]>(29),
        };
        return (record, new ChainFields(r.GetString(30), r.GetInt64(31), r.GetString(32), r.GetString(33)));
    }

    /// <summary>Reasons as the jsonb array stored in column reasons: [{"code","message","rule"}].</summary>
    internal static string ReasonsToJson(IReadOnlyList<ReasonRecord> reasons) =>
        JsonSerializer.Serialize(reasons.Select(x => new ReasonDto(x.Code, x.Message, x.Rule)), ReasonJson);

    /// <summary>Parses column reasons; elements that are not objects are kept as a reason with that text as message.</summary>
    internal static IReadOnlyList<ReasonRecord> ReasonsFromJson(string json)
    {
        using var doc = JsonDocument.Parse(json);
        if (doc.RootElement.ValueKind != JsonValueKind.Array) return [];
        var list = new List<ReasonRecord>();
        foreach (var e in doc.RootElement.EnumerateArray())
        {
            if (e.ValueKind != JsonValueKind.Object) { list.Add(new ReasonRecord("", e.GetRawText())); continue; }
            string? Get(string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
            list.Add(new ReasonRecord(Get("code") ?? "", Get("message") ?? "", Get("rule")));
        }
        return list;
    }

    private sealed record ReasonDto(string Code, string Message, string? Rule);

    /// <summary>Appends a COPY text-format field: \N for null, backslash escapes for \\, tab, newline, CR.</summary>
    internal static StringBuilder Field(StringBuilder sb, string? v)
    {
        if (v is null) return sb.Append("\\N");
        foreach (var c in v)
        {
            switch (c)
            {
                case '\\': sb.Append("\\\\"); break;
                case '\t': sb.Append("\\t"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                default: sb.Append(c); break;
            }
        }
        return sb;
    }

    /// <summary>Appends a timestamptz in ISO form with explicit UTC offset (microseconds), or \N.</summary>
    private static StringBuilder TimeField(StringBuilder sb, DateTimeOffset? t) =>
        t is null ? sb.Append("\\N")
            : sb.Append(t.Value.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture)).Append("+00");

    /// <summary>A PostgreSQL array literal of text elements: {"a","b"} with \" and \\ escaped inside quotes.</summary>
    internal static string ArrayLiteral(IReadOnlyList<string> items)
    {
        var sb = new StringBuilder("{");
        for (var i = 0; i < items.Count; i++)
        {
            if (i > 0) sb.Append(',');
            sb.Append('"');
            foreach (var c in items[i])
            {
                if (c is '"' or '\\') sb.Append('\\');
                sb.Append(c);
            }
            sb.Append('"');
        }
        return sb.Append('}').ToString();
    }
}
