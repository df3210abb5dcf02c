using Npgsql;
using Pdp.DecisionLog;
using Pdp.Storage;
using Pdp.Tests.Infrastructure;

namespace Pdp.Tests.DecisionLog;

/// <summary>Append, read back, idempotency, group commit and chain continuity on a real PostgreSQL.</summary>
[TestFixture]
public class PostgresDecisionLogTests
{
    private PostgresCluster _pg = null!;

    [OneTimeSetUp]
    public async Task Start()
    {
        _pg = await PostgresCluster.CreateAsync();
        await DatabaseMigrator.MigrateAsync(_pg.ConnectionString);
    }

    [OneTimeTearDown]
    public async Task Stop() => await _pg.DisposeAsync();

    // One lane unless a test is about lanes: then one chain holds every record, in append order.
    private PostgresDecisionLog NewLog(string writer, int maxBatch = 512, int lanes = 1) => new(new DecisionLogOptions
    {
        ConnectionString = _pg.ConnectionString,
        SpoolDirectory = Path.Combine(_pg.Directory, "spool-" + writer),
        WriterId = writer,
        MaxBatch = maxBatch,
        WriterLanes = lanes,
    });

    [Test]
    public async Task Appended_record_is_stored_with_every_field()
    {
        var record = TestRecords.Full(requestId: "req-all-fields", sessionId: "sess-all-fields");
        await using (var log = NewLog("w-fields"))
            await log.AppendAsync(record);

        await using var conn = new NpgsqlConnection(_pg.ConnectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand($"SELECT {DecisionStore.Columns}, reasons::text, labels FROM decisions WHERE decision_id = @id", conn);
        cmd.Parameters.AddWithValue("id", record.DecisionId);
        await using var reader = await cmd.ExecuteReaderAsync();
        Assert.That(await reader.ReadAsync(), Is.True);
        var (stored, chain) = DecisionStore.ReadRecord(reader);
        var expected = DecisionChain.Normalize(record);
        Assert.That(DecisionChain.FirstDifference(stored, expected), Is.Null);
        Assert.That(stored.WorkloadAttributesJson, Is.EqualTo("{\"env\":\"prod\",\"n\":15.0,\"team\":\"research\"}"));
        Assert.That(stored.DecidedAt, Is.EqualTo(expected.DecidedAt));
        Assert.That(stored.Reasons, Is.EqualTo(expected.Reasons));
        Assert.That(stored.Labels, Is.EqualTo(new[] { "secret", "external" }));
        Assert.That(chain, Is.EqualTo(new DecisionStore.ChainFields("w-fields", 1, DecisionChain.GenesisHash,
            DecisionChain.ComputeHash(DecisionChain.GenesisHash, "w-fields", 1, expected))));
        Assert.That(reader.GetString(34), Does.Contain("\"code\": \"secret_then_egress\"").And.Contain("\"rule\": \"data.policypoint.mcp.deny\""));
    }

    [Test]
    public async Task Same_decision_id_twice_gives_one_row_and_an_intact_chain()
    {
        var record = TestRecords.Full();
        await using (var log = NewLog("w-idem"))
        {
            await log.AppendAsync(record);
            await log.AppendAsync(record);
            await Task.WhenAll(log.AppendAsync(record with { Tool = "other" }).AsTask(), log.AppendAsync(record).AsTask());
            await log.AppendAsync(TestRecords.Full());
        }
        await using (var log = NewLog("w-idem-2"))
            await log.AppendAsync(record); // another writer replaying the same decision: still one row

        Assert.That(await CountAsync("decision_id = @p", record.DecisionId), Is.EqualTo(1));
        Assert.That(await CountAsync("writer_id = @p", "w-idem"), Is.EqualTo(2));
        var v = await ChainVerifier.VerifyAsync(_pg.ConnectionString, "w-idem");
        Assert.That(v.Ok, Is.True, v.Broken?.ToString());
        Assert.That(v.Records, Is.EqualTo(2));
    }

    [Test]
    public async Task Find_by_request_id_and_session_history()
    {
        await using var log = NewLog("w-read");
        var t0 = DateTimeOffset.UtcNow.AddSeconds(-10);
        var first = TestRecords.Full(requestId: "req-find", sessionId: "sess-read", at: t0);
        await log.AppendAsync(first);
        await log.AppendAsync(TestRecords.Full(requestId: "req-find", sessionId: "sess-read", at: t0.AddSeconds(1)));
        for (var i = 2; i < 6; i++) await log.AppendAsync(TestRecords.Full(sessionId: "sess-read", at: t0.AddSeconds(i)));

        var found = await log.FindByRequestIdAsync("req-find");
        Assert.That(found?.DecisionId, Is.EqualTo(first.DecisionId));
        Assert.That(await log.FindByRequestIdAsync("req-none"), Is.Null);

        var session = await log.GetSessionAsync("sess-read", 3);
        Assert.That(session.Select(r => r.DecidedAt), Is.EqualTo(new[] { 3, 4, 5 }.Select(i => DecisionChain.Normalize(first).DecidedAt.AddSeconds(i))));
        Assert.That(await log.GetSessionAsync("sess-read", 100), Has.Count.EqualTo(6));
        Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await log.GetSessionAsync("sess-read", 0));
    }

    [Test]
    public async Task Chain_continues_across_restarts()
    {
        await using (var log = NewLog("w-restart"))
            for (var i = 0; i < 3; i++) await log.AppendAsync(TestRecords.Full());
        await using (var log = NewLog("w-restart"))
        {
            await log.StartAsync();
            await log.AppendAsync(TestRecords.Full());
        }
        var v = await ChainVerifier.VerifyAsync(_pg.ConnectionString, "w-restart");
        Assert.That(v.Ok, Is.True, v.Broken?.ToString());
        Assert.That(v.Records, Is.EqualTo(4));
    }

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    public async Task Concurrent_appends_are_group_committed_one_chain_per_lane(int lanes)
    {
        const int n = 3000;
        var writer = $"w-group-{lanes}";
        IReadOnlyList<string> writerIds;
        await using (var log = NewLog(writer, maxBatch: 256, lanes: lanes))
        {
            writerIds = log.WriterIds;
            var tasks = Enumerable.Range(0, n).Select(_ => Task.Run(async () => await log.AppendAsync(TestRecords.Full()))).ToArray();
            await Task.WhenAll(tasks);
        }
        Assert.That(writerIds, Is.EqualTo(Enumerable.Range(0, lanes).Select(i => i == 0 ? writer : $"{writer}#{i}")));
        await using var conn = new NpgsqlConnection(_pg.ConnectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(
            "SELECT count(*), count(DISTINCT xmin::text) FROM decision_ids WHERE writer_id = ANY(@w)", conn);
        cmd.Parameters.AddWithValue("w", writerIds.ToArray());
        await using (var reader = await cmd.ExecuteReaderAsync())
        {
            await reader.ReadAsync();
            Assert.That(reader.GetInt64(0), Is.EqualTo(n));
            // fewer transactions than records: batches really formed
            Assert.That(reader.GetInt64(1), Is.LessThan(n / 4));
        }
        var total = 0L;
        foreach (var id in writerIds)
        {
            var v = await ChainVerifier.VerifyAsync(_pg.ConnectionString, id);
            Assert.That(v.Ok, Is.True, v.Broken?.ToString());
            total += v.Records;
        }
        Assert.That(total, Is.EqualTo(n));
    }

    [Test]
    public async Task Flush_waits_for_every_earlier_record_in_every_lane()
    {
        const int n = 2000;
        await using var log = NewLog("w-flush", maxBatch: 64, lanes: 3);
        var appends = Enumerable.Range(0, n).Select(_ => log.AppendAsync(TestRecords.Full()).AsTask()).ToArray();
        await log.FlushAsync();
        // Every append made before the flush is done, and its row is in PostgreSQL.
        Assert.That(appends.All(t => t.IsCompletedSuccessfully), Is.True);
        await using var conn = new NpgsqlConnection(_pg.ConnectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand("SELECT count(*) FROM decision_ids WHERE writer_id LIKE 'w-flush%'", conn);
        Assert.That((long)(await cmd.ExecuteScalarAsync())!, Is.EqualTo(n));
    }

    [Test]
    public void Bad_options_and_records_give_clear_errors()
    {
        Assert.Throws<ArgumentException>(() => _ = new PostgresDecisionLog(new DecisionLogOptions { ConnectionString = "" }));
        Assert.Throws<ArgumentException>(() => _ = new PostgresDecisionLog(new DecisionLogOptions { ConnectionString = _pg.ConnectionString, MaxBatch = 0 }));
        Assert.That(Assert.Throws<ArgumentException>(() => _ = new PostgresDecisionLog(new DecisionLogOptions { ConnectionString = _pg.ConnectionString, WriterLanes = 0 }))!.Message,
            Does.Contain("WriterLanes"));
        Assert.ThrowsAsync<ArgumentException>(async () =>
        {
            await using var log = NewLog("w-bad");
            await log.AppendAsync(TestRecords.Full() with { DecisionId = "" });
        });
    }

    [Test]
    public async Task Odd_input_is_stored_not_lost()
    {
        var record = TestRecords.Full() with
        {
            Tool = "to\0ol",
            Server = "tab\there\nnew\\line\r \\N \\.",
            Labels = ["a\"b", "c\\d", "{x}", "NULL", "", "é,z"],
            ContextJson = "{not json",
            MaskedInputJson = """{"n": 1e400, "s": "\ud800"}""",
        };
        await using (var log = NewLog("w-odd"))
            await log.AppendAsync(record);
        await using var conn = new NpgsqlConnection(_pg.ConnectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand("SELECT tool, context #>> '{}' FROM decisions WHERE decision_id = @id", conn);
        cmd.Parameters.AddWithValue("id", record.DecisionId);
        await using var r = await cmd.ExecuteReaderAsync();
        Assert.That(await r.ReadAsync(), Is.True);
        Assert.That(r.GetString(0), Is.EqualTo("to\uFFFDol"));
        Assert.That(r.GetString(1), Is.EqualTo("{not json"));
        await r.DisposeAsync();
        await using var cmd2 = new NpgsqlCommand("SELECT server, labels FROM decisions WHERE decision_id = @id", conn);
        cmd2.Parameters.AddWithValue("id", record.DecisionId);
        await using var r2 = await cmd2.ExecuteReaderAsync();
        Assert.That(await r2.ReadAsync(), Is.True);
        Assert.That(r2.GetString(0), Is.EqualTo(record.Server));
        Assert.That(r2.GetFieldValue<string[]>(1), Is.EqualTo(record.Labels));
        await r2.DisposeAsync();
        var v = await ChainVerifier.VerifyAsync(_pg.ConnectionString, "w-odd");
        Assert.That(v.Ok, Is.True, v.Broken?.ToString());
    }

    private async Task<long> CountAsync(string where, string p)
    {
        await using var conn = new NpgsqlConnection(_pg.ConnectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand($"SELECT count(*) FROM decisions WHERE {where}", conn);
        cmd.Parameters.AddWithValue("p", p);
        return (long)(await cmd.ExecuteScalarAsync())!;
    }
}
