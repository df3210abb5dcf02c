using System.Collections.Concurrent;
using Npgsql;
using Pdp.DecisionLog;
using Pdp.Storage;
using Pdp.Tests.Infrastructure;

namespace Pdp.Tests.DecisionLog;

/// <summary>Durability when PostgreSQL goes away: spool, replay, crash recovery, and audit_unavailable.</summary>
[TestFixture]
public class SpoolTests
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

    [SetUp]
    public async Task EnsureRunning() => await _pg.StartAsync();

    private DecisionLogOptions Options(string writer, string? spool = null, int lanes = 1,
        DecisionLogAck ack = DecisionLogAck.Commit) => new()
    {
        Acknowledge = ack,
        ConnectionString = _pg.ConnectionString,
        SpoolDirectory = spool ?? Path.Combine(_pg.Directory, "spool-" + writer),
        WriterId = writer,
        WriterLanes = lanes,
        MaxBatch = 64,
        WriteTimeout = TimeSpan.FromSeconds(2),
        MaxReplayDelay = TimeSpan.FromMilliseconds(500),
    };

    [TestCase(1, DecisionLogAck.Commit)]
    [TestCase(2, DecisionLogAck.Commit)]
    [TestCase(1, DecisionLogAck.Journal)]
    public async Task Crash_of_postgres_during_appends_loses_nothing_and_duplicates_nothing(int lanes, DecisionLogAck ack)
    {
        var acked = new ConcurrentBag<string>();
        var writer = $"w-crash-{lanes}-{ack}";
        await using var log = new PostgresDecisionLog(Options(writer, lanes: lanes, ack: ack));
        using var stop = new CancellationTokenSource();
        // 8 callers append continuously while the server crashes and comes back.
        var callers = StartCallers(log, "sess-crash", acked, stop.Token, pause: true);

        await WaitUntil(() => acked.Count > 200);
        await _pg.StopImmediateAsync();
        var atCrash = acked.Count;
        await WaitUntil(() => acked.Count > atCrash + 300);   // appends still complete: spooled
        Assert.That(log.SpooledCount, Is.GreaterThan(0));
        Assert.That((await log.GetSessionAsync("sess-crash", 10_000)).Count, Is.GreaterThan(0), "pending records stay readable");
        await _pg.StartAsync();
        var atRestart = acked.Count;
        await WaitUntil(() => acked.Count > atRestart + 300);
        stop.Cancel();
        await Task.WhenAll(callers);
        await log.FlushAsync();
        await WaitUntil(() => log.SpooledCount == 0);

        var stored = new List<string>();
        foreach (var id in log.WriterIds) stored.AddRange(await IdsAsync(id));
        Assert.That(stored.Count, Is.EqualTo(stored.Distinct().Count()), "no duplicates");
        Assert.That(stored.ToHashSet().IsSupersetOf(acked), Is.True,
            $"every acknowledged decision is stored: missing {acked.Except(stored).Count()}");
        if (ack == DecisionLogAck.Commit)
            Assert.That(Spool.SegmentFiles(Path.Combine(_pg.Directory, "spool-" + writer)), Is.Empty, "spool emptied");
        var chained = 0L;
        foreach (var id in log.WriterIds)
        {
            var v = await ChainVerifier.VerifyAsync(_pg.ConnectionString, id);
            Assert.That(v.Ok, Is.True, v.Broken?.ToString());
            chained += v.Records;
        }
        Assert.That(chained, Is.EqualTo(stored.Count));
    }

    [TestCase(DecisionLogAck.Commit)]
    [TestCase(DecisionLogAck.Journal)]
    public async Task Records_spooled_before_a_process_crash_are_replayed_at_the_next_start(DecisionLogAck ack)
    {
        var writer = $"w-restart-{ack}";
        var spool = Path.Combine(_pg.Directory, "spool-" + writer);
        var ids = new List<string>();
        await _pg.StopImmediateAsync();
        var log = new PostgresDecisionLog(Options(writer, spool, ack: ack));
        for (var i = 0; i < 20; i++)
        {
            var r = TestRecords.Full(requestId: i == 0 ? "req-spooled" : null);
            await log.AppendAsync(r);
            ids.Add(r.DecisionId);
        }
        Assert.That((await log.FindByRequestIdAsync("req-spooled"))?.DecisionId, Is.EqualTo(ids[0]), "spooled records are found");
        await log.DisposeAsync(); // database still down: the spool is kept, like after a crash
        var segment = Spool.SegmentFiles(spool).Single();
        Assert.That(File.ReadAllLines(segment), Has.Length.EqualTo(20));
        // a torn last line (crash mid-write, never acknowledged) must be ignored
        await File.AppendAllTextAsync(segment, "{\"DecisionId\":\"torn");

        await _pg.StartAsync();
        await using (var again = new PostgresDecisionLog(Options(writer, spool, ack: ack)))
        {
            // found whether or not the replayer has moved it into PostgreSQL yet
            Assert.That((await again.FindByRequestIdAsync("req-spooled"))?.DecisionId, Is.EqualTo(ids[0]));
            await again.FlushAsync();
            Assert.That(again.SpooledCount, Is.Zero);
        }
        Assert.That(await IdsAsync(writer), Is.EquivalentTo(ids));
        Assert.That(Spool.SegmentFiles(spool), Is.Empty, "a clean shutdown leaves an empty spool");
    }

    [Test]
    public async Task Hung_database_write_times_out_to_the_spool_and_is_replayed_later()
    {
        // PostgreSQL accepts the connection but the write never completes (another session holds a lock the
        // insert needs): after WriteTimeout (2 s here) the batch goes to the spool and the append completes.
        await using var log = new PostgresDecisionLog(Options("w-hung"));
        await log.AppendAsync(TestRecords.Full());   // chain head and partitions in place
        await using var blocker = new NpgsqlConnection(_pg.ConnectionString);
        await blocker.OpenAsync();
        await using var tx = await blocker.BeginTransactionAsync();
        await using (var lockCmd = new NpgsqlCommand("LOCK TABLE decision_ids IN ACCESS EXCLUSIVE MODE", blocker, tx))
            await lockCmd.ExecuteNonQueryAsync();

        var record = TestRecords.Full();
        var started = System.Diagnostics.Stopwatch.StartNew();
        var append = log.AppendAsync(record).AsTask();
        Assert.That(await Task.WhenAny(append, Task.Delay(TimeSpan.FromSeconds(20))), Is.SameAs(append), "the append must not hang");
        await append;
        Assert.That(started.Elapsed, Is.GreaterThan(TimeSpan.FromSeconds(1.5)).And.LessThan(TimeSpan.FromSeconds(15)));
        Assert.That(log.SpooledCount, Is.GreaterThan(0));

        await tx.RollbackAsync();
        await WaitUntil(() => log.SpooledCount == 0);
        Assert.That(await IdsAsync("w-hung"), Does.Contain(record.DecisionId));
        var v = await ChainVerifier.VerifyAsync(_pg.ConnectionString, "w-hung");
        Assert.That(v.Ok, Is.True, v.Broken?.ToString());
    }

    [Test]
    public async Task Replaying_the_same_spool_twice_does_not_duplicate()
    {
        var spool = Path.Combine(_pg.Directory, "spool-w-twice");
        await _pg.StopImmediateAsync();
        await using (var log = new PostgresDecisionLog(Options("w-twice", spool)))
            for (var i = 0; i < 10; i++) await log.AppendAsync(TestRecords.Full());
        var copy = await File.ReadAllTextAsync(Spool.SegmentFiles(spool).Single());
        await _pg.StartAsync();
        await using (var log = new PostgresDecisionLog(Options("w-twice", spool))) await log.FlushAsync();
        // as if the spool had not been emptied; under the single file name of older PDPs, which is still replayed
        await File.WriteAllTextAsync(Path.Combine(spool, Spool.LegacyFileName), copy);
        await using (var log = new PostgresDecisionLog(Options("w-twice", spool))) await log.FlushAsync();
        var ids = await IdsAsync("w-twice");
        Assert.That(ids, Has.Count.EqualTo(10));
        Assert.That((await ChainVerifier.VerifyAsync(_pg.ConnectionString, "w-twice")).Ok, Is.True);
    }

    [Test]
    public async Task Unwritable_spool_and_database_down_throws_audit_unavailable()
    {
        var file = Path.Combine(_pg.Directory, "not-a-directory");
        await File.WriteAllTextAsync(file, "x");
        await _pg.StopImmediateAsync();
        // a path below a regular file can never be created, even by root
        await using var log = new PostgresDecisionLog(Options("w-unavailable", Path.Combine(file, "spool")));
        var e = Assert.ThrowsAsync<AuditUnavailableException>(async () => await log.AppendAsync(TestRecords.Full()));
        Assert.That(e!.Message, Does.Contain("spool"));
        await _pg.StartAsync();
        // once PostgreSQL is back, appends succeed again without a spool
        await Task.Delay(1100);
        await log.AppendAsync(TestRecords.Full());
        Assert.That(await IdsAsync("w-unavailable"), Has.Count.EqualTo(1));
    }

    [Test]
    public async Task Journal_mode_acknowledges_without_waiting_for_a_hung_database_and_ships_later()
    {
        // Journal mode: an append is durable once fsynced to the spool, so a database that does not answer
        // (a lock the insert needs is held) does not hold up acknowledgements; the shipper moves them later.
        await using var log = new PostgresDecisionLog(Options("w-journal-hung", ack: DecisionLogAck.Journal));
        await log.AppendAsync(TestRecords.Full());
        await log.FlushAsync();   // chain head and partitions in place
        await using var blocker = new NpgsqlConnection(_pg.ConnectionString);
        await blocker.OpenAsync();
        await using var tx = await blocker.BeginTransactionAsync();
        await using (var lockCmd = new NpgsqlCommand("LOCK TABLE decision_ids IN ACCESS EXCLUSIVE MODE", blocker, tx))
            await lockCmd.ExecuteNonQueryAsync();

        var records = Enumerable.Range(0, 50).Select(i => TestRecords.Full(requestId: $"journal-hung-{i}")).ToList();
        var started = System.Diagnostics.Stopwatch.StartNew();
        foreach (var r in records) await log.AppendAsync(r);
        Assert.That(started.Elapsed, Is.LessThan(TimeSpan.FromSeconds(1.5)), "acknowledged by the spool, not by PostgreSQL");
        Assert.That(await IdsAsync("w-journal-hung"), Has.Count.EqualTo(1), "nothing shipped while the lock is held");
        Assert.That(log.SpooledCount, Is.EqualTo(50));
        Assert.That((await log.FindByRequestIdAsync("journal-hung-7"))?.DecisionId, Is.EqualTo(records[7].DecisionId));

        await tx.RollbackAsync();
        await WaitUntil(() => log.SpooledCount == 0);
        Assert.That(await IdsAsync("w-journal-hung"), Is.SupersetOf(records.Select(r => r.DecisionId)).And.Count.EqualTo(51));
        var v = await ChainVerifier.VerifyAsync(_pg.ConnectionString, "w-journal-hung");
        Assert.That(v.Ok, Is.True, v.Broken?.ToString());
    }

    [Test]
    public async Task Journal_mode_rotates_the_spool_under_continuous_load_and_leaves_it_empty_at_shutdown()
    {
        // Small segments: while callers keep appending, shipped segments are deleted, so the spool stays small
        // although it is never empty; every acknowledged record ends up in PostgreSQL once, in one valid chain.
        var spool = Path.Combine(_pg.Directory, "spool-w-journal-rotate");
        var options = Options("w-journal-rotate", spool, ack: DecisionLogAck.Journal);
        options.SpoolSegmentBytes = 64 * 1024;
        var acked = new ConcurrentBag<string>();
        var mostFiles = 0;
        var lastSegment = 0L;
        await using (var log = new PostgresDecisionLog(options))
        {
            using var stop = new CancellationTokenSource();
            var callers = StartCallers(log, "sess-rotate", acked, stop.Token, pause: false);
            while (acked.Count < 12_000)
            {
                var files = Spool.SegmentFiles(spool);
                mostFiles = Math.Max(mostFiles, files.Count);
                if (files.Count > 0) lastSegment = long.Parse(Path.GetFileName(files[^1]).Split('-', '.')[1]);
                await Task.Delay(10);
            }
            stop.Cancel();
            await Task.WhenAll(callers);
        }
        var stored = await IdsAsync("w-journal-rotate");
        Assert.That(stored, Has.Count.EqualTo(acked.Count).And.Count.EqualTo(stored.Distinct().Count()));
        Assert.That(stored, Is.EquivalentTo(acked));
        // The shipper takes up to 2,000 records (~50 segments of 64 KB) at a time, so that many may wait; but far
        // fewer than were written.
        TestContext.Out.WriteLine($"segments written: {lastSegment}, most at once: {mostFiles}");
        Assert.That(lastSegment, Is.GreaterThan(150), "records written across many segments");
        Assert.That(mostFiles, Is.InRange(1, 80), "shipped segments are deleted while appends go on");
        Assert.That(Spool.SegmentFiles(spool), Is.Empty, "shutdown ships everything and empties the spool");
        var v = await ChainVerifier.VerifyAsync(_pg.ConnectionString, "w-journal-rotate");
        Assert.That(v.Ok, Is.True, v.Broken?.ToString());
        Assert.That(v.Records, Is.EqualTo(acked.Count));
    }

    [Test]
    public async Task Journal_mode_with_an_unwritable_spool_writes_to_postgres_and_fails_closed_without_it()
    {
        var file = Path.Combine(_pg.Directory, "not-a-directory-journal");
        await File.WriteAllTextAsync(file, "x");
        await using var log = new PostgresDecisionLog(Options("w-journal-nospool", Path.Combine(file, "spool"), ack: DecisionLogAck.Journal));
        var r = TestRecords.Full();
        await log.AppendAsync(r);   // the spool cannot take it: written to PostgreSQL directly
        Assert.That(await IdsAsync("w-journal-nospool"), Is.EqualTo(new[] { r.DecisionId }));
        await _pg.StopImmediateAsync();
        var e = Assert.ThrowsAsync<AuditUnavailableException>(async () => await log.AppendAsync(TestRecords.Full()));
        Assert.That(e!.Message, Does.Contain("spool").And.Contain("PostgreSQL"));
    }

    // 8 callers appending records of one session until stopped, each id added to acked once its append returned;
    // pause: 1 ms between a caller's appends.
    private static Task[] StartCallers(PostgresDecisionLog log, string session, ConcurrentBag<string> acked, CancellationToken stop, bool pause) =>
        [.. Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var r = TestRecords.Full(sessionId: session);
                await log.AppendAsync(r);
                acked.Add(r.DecisionId);
                if (pause) await Task.Delay(1);
            }
        }))];

    private async Task<List<string>> IdsAsync(string writer)
    {
        await using var conn = new NpgsqlConnection(_pg.ConnectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand("SELECT decision_id FROM decisions WHERE writer_id = @w", conn);
        cmd.Parameters.AddWithValue("w", writer);
        await using var r = await cmd.ExecuteReaderAsync();
        var list = new List<string>();
        while (await r.ReadAsync()) list.Add(r.GetString(0));
        return list;
    }

    private static async Task WaitUntil(Func<bool> condition, int seconds = 60)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"condition not met within {seconds} s");
            await Task.Delay(20);
        }
    }
}
