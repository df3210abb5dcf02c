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

    private DecisionLogOptions Options(string writer, string? spool = null, int lanes = 1) => new()
    {
        ConnectionString = _pg.ConnectionString,
        SpoolDirectory = spool ?? Path.Combine(_pg.Directory, "spool-" + writer),
        WriterId = writer,
        WriterLanes = lanes,
        MaxBatch = 64,
        WriteTimeout = TimeSpan.FromSeconds(2),
        MaxReplayDelay = TimeSpan.FromMilliseconds(500),
    };

    [TestCase(1)]
    [TestCase(2)]
    public async Task Crash_of_postgres_during_appends_loses_nothing_and_duplicates_nothing(int lanes)
    {
        var acked = new ConcurrentBag<string>();
        var writer = $"w-crash-{lanes}";
        await using var log = new PostgresDecisionLog(Options(writer, lanes: lanes));
        using var stop = new CancellationTokenSource();
        // 8 callers append continuously while the server crashes and comes back.
        var callers = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var r = TestRecords.Full(sessionId: "sess-crash");
                await log.AppendAsync(r);
                acked.Add(r.DecisionId);
                await Task.Delay(1);
            }
        })).ToArray();

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
        Assert.That(File.ReadAllText(Path.Combine(_pg.Directory, "spool-" + writer, Spool.FileName)), Is.Empty, "spool emptied");
        var chained = 0L;
        foreach (var id in log.WriterIds)
        {
            var v = await ChainVerifier.VerifyAsync(_pg.ConnectionString, id);
            Assert.That(v.Ok, Is.True, v.Broken?.ToString());
            chained += v.Records;
        }
        Assert.That(chained, Is.EqualTo(stored.Count));
    }

    [Test]
    public async Task Records_spooled_before_a_process_crash_are_replayed_at_the_next_start()
    {
        var spool = Path.Combine(_pg.Directory, "spool-w-restart");
        var ids = new List<string>();
        await _pg.StopImmediateAsync();
        var log = new PostgresDecisionLog(Options("w-restart", spool));
        for (var i = 0; i < 20; i++)
        {
            var r = TestRecords.Full(requestId: i == 0 ? "req-spooled" : null);
            await log.AppendAsync(r);
            ids.Add(r.DecisionId);
        }
        Assert.That((await log.FindByRequestIdAsync("req-spooled"))?.DecisionId, Is.EqualTo(ids[0]), "spooled records are found");
        await log.DisposeAsync(); // database still down: the spool is kept, like after a crash
        Assert.That(File.ReadAllLines(Path.Combine(spool, Spool.FileName)), Has.Length.EqualTo(20));
        // a torn last line (crash mid-write, never acknowledged) must be ignored
        await File.AppendAllTextAsync(Path.Combine(spool, Spool.FileName), "{\"DecisionId\":\"torn");

        await _pg.StartAsync();
        await using (var again = new PostgresDecisionLog(Options("w-restart", spool)))
        {
            // found whether or not the replayer has moved it into PostgreSQL yet
            Assert.That((await again.FindByRequestIdAsync("req-spooled"))?.DecisionId, Is.EqualTo(ids[0]));
            await again.FlushAsync();
            Assert.That(again.SpooledCount, Is.Zero);
        }
        Assert.That(await IdsAsync("w-restart"), Is.EquivalentTo(ids));
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
        var copy = await File.ReadAllTextAsync(Path.Combine(spool, Spool.FileName));
        await _pg.StartAsync();
        await using (var log = new PostgresDecisionLog(Options("w-twice", spool))) await log.FlushAsync();
        await File.WriteAllTextAsync(Path.Combine(spool, Spool.FileName), copy);  // as if the spool had not been emptied
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
