using Npgsql;

namespace Pdp.DecisionLog;

/// <summary>Outcome of <see cref="ChainVerifier.VerifyAsync"/>.</summary>
/// <param name="Ok">True when every chain checked is intact.</param>
/// <param name="Records">Rows checked (up to the first broken link).</param>
/// <param name="Writers">Writers (chains) checked.</param>
/// <param name="Broken">The first broken link, or null.</param>
public sealed record ChainVerification(bool Ok, long Records, int Writers, BrokenLink? Broken);

/// <summary>
/// A place where a chain does not hold: the decision, the writer, the seq, and what differs
/// (e.g. "record_hash differs: stored …, recomputed …").
/// </summary>
public sealed record BrokenLink(string DecisionId, string WriterId, long Seq, string What)
{
    /// <inheritdoc />
    public override string ToString() => $"decision_id={DecisionId} writer={WriterId} seq={Seq}: {What}";
}

/// <summary>
/// Walks each writer's chain in seq order and recomputes every hash (<see cref="DecisionChain"/>): seq must run
/// 1, 2, 3… without gaps, prev_hash must equal the previous record_hash (64 zeros for seq 1), record_hash must
/// equal the recomputed hash, and the decision_ids index must agree (same count and hashes, which catches a
/// deleted last record). Reads with a plain SELECT, so any role with SELECT on the base tables can run it.
/// </summary>
public static class ChainVerifier
{
    /// <summary>
    /// Verifies all writers, or only <paramref name="writerId"/> when given. Stops at the first broken link.
    /// Throws <see cref="NpgsqlException"/> when the database cannot be read.
    /// </summary>
    public static async Task<ChainVerification> VerifyAsync(string connectionString, string? writerId = null, CancellationToken ct = default)
    {
        await using var conn = new NpgsqlConnection(connectionString);
        await conn.OpenAsync(ct);

        // decision_ids per writer: the independent index of what the chain should contain.
        var index = new Dictionary<string, (long Count, long MaxSeq)>(StringComparer.Ordinal);
        await using (var cmd = new NpgsqlCommand(
            "SELECT writer_id, count(*), max(seq) FROM decision_ids WHERE @w::text IS NULL OR writer_id = @w GROUP BY writer_id", conn))
        {
            cmd.Parameters.AddWithValue("w", (object?)writerId ?? DBNull.Value);
            await using var r = await cmd.ExecuteReaderAsync(ct);
            while (await r.ReadAsync(ct)) index[r.GetString(0)] = (r.GetInt64(1), r.GetInt64(2));
        }

        long records = 0;
        var writers = 0;
        string? current = null;
        long expectedSeq = 0;
        var prev = DecisionChain.GenesisHash;
        string? lastId = null;
        BrokenLink? broken = null;

        await using (var cmd = new NpgsqlCommand(
            $"SELECT {string.Join(", ", DecisionStore.Columns.Split(", ").Select(c => "d." + c))}, i.record_hash AS index_hash FROM decisions d " +
            "LEFT JOIN decision_ids i USING (decision_id) " +
            "WHERE @w::text IS NULL OR d.writer_id = @w ORDER BY d.writer_id, d.seq", conn))
        {
            cmd.Parameters.AddWithValue("w", (object?)writerId ?? DBNull.Value);
            await using var r = await cmd.ExecuteReaderAsync(ct);
            while (await r.ReadAsync(ct))
            {
                var (record, chain) = DecisionStore.ReadRecord(r);
                if (chain.WriterId != current)
                {
                    if (current is not null && (broken = CheckTail(current, expectedSeq, lastId, index)) is not null) break;
                    current = chain.WriterId;
                    writers++;
                    expectedSeq = 0;
                    prev = DecisionChain.GenesisHash;
                }
                expectedSeq++;
                broken = CheckLink(record, chain, expectedSeq, prev, r.IsDBNull(34) ? null : r.GetString(34));
                if (broken is not null) break;
                records++;
                prev = chain.RecordHash;
                lastId = record.DecisionId;
            }
        }
        if (broken is null && current is not null) broken = CheckTail(current, expectedSeq, lastId, index);
        if (broken is null)
        {
            // A writer present in the index but with no rows at all lost every record.
            foreach (var (w, (count, maxSeq)) in index)
            {
                if (w == current || await HasRowsAsync(conn, w, ct)) continue;
                broken = new BrokenLink("(none)", w, 1, $"decision_ids lists {count} records up to seq {maxSeq} but decisions has none");
                break;
            }
        }
        return new ChainVerification(broken is null, records, writers, broken);
    }

    private static BrokenLink? CheckLink(DecisionRecord record, DecisionStore.ChainFields chain, long expectedSeq, string prev, string? indexHash)
    {
        if (chain.Seq != expectedSeq)
            return new BrokenLink(record.DecisionId, chain.WriterId, chain.Seq,
                chain.Seq > expectedSeq
                    ? $"seq gap: expected seq {expectedSeq}, found {chain.Seq} (records {expectedSeq}..{chain.Seq - 1} missing)"
                    : $"seq {chain.Seq} repeated (expected {expectedSeq})");
        if (chain.PrevHash != prev)
            return new BrokenLink(record.DecisionId, chain.WriterId, chain.Seq,
                $"prev_hash differs: stored {chain.PrevHash}, previous record_hash is {prev}");
        string recomputed;
        try
        {
            recomputed = DecisionChain.ComputeHash(prev, chain.WriterId, chain.Seq, DecisionChain.Normalize(record));
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            return new BrokenLink(record.DecisionId, chain.WriterId, chain.Seq, $"record cannot be hashed: {e.Message}");
        }
        if (recomputed != chain.RecordHash)
            return new BrokenLink(record.DecisionId, chain.WriterId, chain.Seq,
                $"record_hash differs: stored {chain.RecordHash}, recomputed {recomputed} (the row's content was altered)");
        if (indexHash is null)
            return new BrokenLink(record.DecisionId, chain.WriterId, chain.Seq, "decision_id missing from decision_ids");
        if (indexHash != chain.RecordHash)
            return new BrokenLink(record.DecisionId, chain.WriterId, chain.Seq,
                $"record_hash differs from decision_ids: stored {chain.RecordHash}, index has {indexHash}");
        return null;
    }

    private static BrokenLink? CheckTail(string writer, long lastSeq, string? lastId, Dictionary<string, (long Count, long MaxSeq)> index)
    {
        if (index.TryGetValue(writer, out var ix) && (ix.MaxSeq != lastSeq || ix.Count != lastSeq))
            return new BrokenLink(lastId ?? "(none)", writer, lastSeq,
                $"chain ends at seq {lastSeq} but decision_ids lists {ix.Count} records up to seq {ix.MaxSeq} (records deleted)");
        return null;
    }

    private static async Task<bool> HasRowsAsync(NpgsqlConnection conn, string writer, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("SELECT EXISTS (SELECT 1 FROM decisions WHERE writer_id = @w)", conn);
        cmd.Parameters.AddWithValue("w", writer);
        return (bool)(await cmd.ExecuteScalarAsync(ct))!;
    }
}
