using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

namespace Pdp.DecisionLog;

/// <summary>
/// SQL access to the decision tables: the batch insert with idempotency and chaining, chain head recovery,
/// and the reads used by <see cref="PostgresDecisionLog"/> and <see cref="ChainVerifier"/>.
/// Not thread safe for <see cref="InsertBatchAsync"/> (one writer per writer id); reads are.
/// </summary>
internal sealed class DecisionStore(NpgsqlDataSource dataSource, string writerId)
{
    /// <summary>Column list of table decisions in the order used by COPY and by <see cref="ReadRecord"/>.</summary>
    internal const string Columns =
        "decision_id, decided_at, request_id, spiffe_id, issuer, subject, workload_attributes, server, tool, " +
        "annotations, resource_type, resource_id, resource_sensitivity, context, credential_id, credential_kind, " +
        "credential_issued_at, credential_expires_at, session_id, parent_decision_id, on_behalf_of_subject, " +
        "decision, reasons, exception_path, obligations, policy_revision, input_hash, masked_input, eval_micros, " +
        "labels, writer_id, seq, prev_hash, record_hash";

    private static readonly JsonSerializerOptions ReasonJson = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    private (long Seq, string Hash)? _head;
    private readonly HashSet<(int, int)> _monthsEnsured = [];

    /// <summary>The writer id whose chain this store extends.</summary>
    public string WriterId => writerId;

    /// <summary>Forgets the cached chain head so the next insert reloads it (after a failure of unknown outcome).</summary>
    public void ResetHead() => _head = null;

    /// <summary>Creates the monthly partitions for <paramref name="at"/> and the next month (idempotent).</summary>
    public async Task EnsurePartitionsAsync(DateTimeOffset at, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand("SELECT ensure_decision_partitions(@at)");
        cmd.Parameters.AddWithValue("at", at.UtcDateTime);
        await cmd.ExecuteScalarAsync(ct);
        _monthsEnsured.Add((at.UtcDateTime.Year, at.UtcDateTime.Month));
    }

    /// <summary>
    /// Writes normalized records in ONE transaction: records whose decision_id is already stored (or repeated
    /// in the batch) are skipped, the others get the next seq numbers of this writer's chain.
    /// Returns how many rows were inserted. Throws on any database error; the chain head then reloads.
    /// </summary>
    public async Task<int> InsertBatchAsync(IReadOnlyList<DecisionRecord> records, CancellationToken ct)
    {
        if (records.Count == 0) return 0;
        try
        {
            foreach (var month in records.Select(r => (r.DecidedAt.UtcDateTime.Year, r.DecidedAt.UtcDateTime.Month)).Distinct())
                if (!_monthsEnsured.Contains(month))
                    await EnsurePartitionsAsync(new DateTimeOffset(month.Year, month.Month, 1, 0, 0, 0, TimeSpan.Zero), ct);

            await using var conn = await dataSource.OpenConnectionAsync(ct);
            await using var tx = await conn.BeginTransactionAsync(ct);

            var ids = records.Select(r => r.DecisionId).Distinct().ToArray();
            var existing = new HashSet<string>(StringComparer.Ordinal);
            await using (var cmd = new NpgsqlCommand("SELECT decision_id FROM decision_ids WHERE decision_id = ANY(@ids)", conn, tx))
            {
                cmd.Parameters.Add(new NpgsqlParameter("ids", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = ids });
                await using var reader = await cmd.ExecuteReaderAsync(ct);
                while (await reader.ReadAsync(ct)) existing.Add(reader.GetString(0));
            }

            var head = _head ?? await LoadHeadAsync(conn, tx, ct);
            var fresh = new List<(DecisionRecord R, long Seq, string Prev, string Hash)>(records.Count);
            var (seq, prev) = head;
            foreach (var r in records)
            {
                if (!existing.Add(r.DecisionId)) continue;
                seq++;
                var hash = DecisionChain.ComputeHash(prev, writerId, seq, r);
                fresh.Add((r, seq, prev, hash));
                prev = hash;
            }
            if (fresh.Count == 0)
            {
                await tx.CommitAsync(ct);
                _head = head;
                return 0;
            }

            await using (var ids2 = await conn.BeginBinaryImportAsync(
                "COPY decision_ids (decision_id, decided_at, writer_id, seq, record_hash) FROM STDIN (FORMAT BINARY)", ct))
            {
                foreach (var (r, s, _, h) in fresh)
                {
                    ids2.StartRow();
                    ids2.Write(r.DecisionId, NpgsqlDbType.Text);
                    ids2.Write(r.DecidedAt.UtcDateTime, NpgsqlDbType.TimestampTz);
                    ids2.Write(writerId, NpgsqlDbType.Text);
                    ids2.Write(s, NpgsqlDbType.Bigint);
                    ids2.Write(h, NpgsqlDbType.Text);
                }
                await ids2.CompleteAsync(ct);
            }

            await using (var copy = await conn.BeginBinaryImportAsync($"COPY decisions ({Columns}) FROM STDIN (FORMAT BINARY)", ct))
            {
                foreach (var (r, s, p, h) in fresh)
                {
                    copy.StartRow();
                    Text(copy, r.DecisionId);
                    copy.Write(r.DecidedAt.UtcDateTime, NpgsqlDbType.TimestampTz);
                    Text(copy, r.RequestId);
                    Text(copy, r.SpiffeId);
                    Text(copy, r.Issuer);
                    Text(copy, r.Subject);
                    Json(copy, r.WorkloadAttributesJson);
                    Text(copy, r.Server);
                    Text(copy, r.Tool);
                    Json(copy, r.AnnotationsJson);
                    Text(copy, r.ResourceType);
                    Text(copy, r.ResourceId);
                    Text(copy, r.ResourceSensitivity);
                    Json(copy, r.ContextJson);
                    Text(copy, r.CredentialId);
                    Text(copy, r.CredentialKind);
                    Time(copy, r.CredentialIssuedAt);
                    Time(copy, r.CredentialExpiresAt);
                    Text(copy, r.SessionId);
                    Text(copy, r.ParentDecisionId);
                    Text(copy, r.OnBehalfOfSubject);
                    Text(copy, r.Decision);
                    Json(copy, ReasonsToJson(r.Reasons));
                    Text(copy, r.ExceptionPath);
                    Json(copy, r.ObligationsJson);
                    Text(copy, r.PolicyRevision);
                    Text(copy, r.InputHash);
                    Json(copy, r.MaskedInputJson);
                    copy.Write(r.EvalMicros, NpgsqlDbType.Bigint);
                    copy.Write(r.Labels.ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Text);
                    Text(copy, writerId);
                    copy.Write(s, NpgsqlDbType.Bigint);
                    Text(copy, p);
                    Text(copy, h);
                }
                await copy.CompleteAsync(ct);
            }

            await tx.CommitAsync(ct);
            _head = (fresh[^1].Seq, fresh[^1].Hash);
            return fresh.Count;
        }
        catch
        {
            // The commit may or may not have happened: reload the head from the database next time.
            _head = null;
            throw;
        }
    }

    /// <summary>Last (seq, record_hash) of this writer's chain, or (0, genesis) when it has none.</summary>
    public async Task<(long Seq, string Hash)> LoadHeadAsync(NpgsqlConnection conn, NpgsqlTransaction? tx, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(
            "SELECT seq, record_hash FROM decision_ids WHERE writer_id = @w ORDER BY seq DESC LIMIT 1", conn, tx);
        cmd.Parameters.AddWithValue("w", writerId);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? (reader.GetInt64(0), reader.GetString(1)) : (0L, DecisionChain.GenesisHash);
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

    // Synchronous field writes only fill Npgsql's buffer (it flushes when full and at CompleteAsync); awaiting
    // each of ~34 fields per row costs more than the I/O it would overlap.
    private static void Text(NpgsqlBinaryImporter c, string? v)
    {
        if (v is null) c.WriteNull(); else c.Write(v, NpgsqlDbType.Text);
    }

    private static void Json(NpgsqlBinaryImporter c, string? v)
    {
        if (v is null) c.WriteNull(); else c.Write(v, NpgsqlDbType.Jsonb);
    }

    private static void Time(NpgsqlBinaryImporter c, DateTimeOffset? v)
    {
        if (v is null) c.WriteNull(); else c.Write(v.Value.UtcDateTime, NpgsqlDbType.TimestampTz);
    }
}
