using Npgsql;
using Pdp.Cli;
using Pdp.DecisionLog;
using Pdp.Storage;
using Pdp.Tests.Infrastructure;

namespace Pdp.Tests.DecisionLog;

/// <summary><c>pdp verify-log</c> and <c>pdp migrate</c>: intact chains pass, tampering is pinpointed.</summary>
[TestFixture]
[NonParallelizable] // redirects Console.Out
public class VerifyLogTests
{
    private PostgresCluster _pg = null!;

    [OneTimeSetUp]
    public async Task Start() => _pg = await PostgresCluster.CreateAsync();

    [OneTimeTearDown]
    public async Task Stop() => await _pg.DisposeAsync();

    private async Task<(string Conn, List<DecisionRecord> Records)> FreshDatabaseAsync(string name, params string[] writers)
    {
        var conn = _pg.ConnectionStringFor(name);
        var (code, output) = await RunAsync(MigrateCommand.Create(), "--db", conn);
        Assert.That(code, Is.Zero, output);
        Assert.That(output, Does.Contain("OK"));
        var records = new List<DecisionRecord>();
        foreach (var w in writers)
        {
            await using var log = new PostgresDecisionLog(new DecisionLogOptions
            {
                ConnectionString = conn, SpoolDirectory = Path.Combine(_pg.Directory, $"spool-{name}-{w}"), WriterId = w, WriterLanes = 1,
            });
            for (var i = 0; i < 5; i++)
            {
                var r = TestRecords.Full();
                await log.AppendAsync(r);
                records.Add(r);
            }
        }
        return (conn, records);
    }

    [Test]
    public async Task Intact_chains_verify_ok()
    {
        var (conn, _) = await FreshDatabaseAsync("verify_ok", "a", "b");
        var (code, output) = await RunAsync(VerifyLogCommand.Create(), "--db", conn);
        Assert.That(code, Is.Zero, output);
        Assert.That(output.Trim(), Is.EqualTo("OK: 10 records, 2 writers"));
        (code, output) = await RunAsync(VerifyLogCommand.Create(), "--db", conn, "--writer", "b");
        Assert.That(output.Trim(), Is.EqualTo("OK: 5 records, 1 writers"));
    }

    [Test]
    public async Task Row_altered_by_a_superuser_with_the_trigger_disabled_is_named()
    {
        var (conn, records) = await FreshDatabaseAsync("verify_edit", "a", "b");
        var target = records[7]; // writer b, seq 3
        await ExecAsync(conn,
            "ALTER TABLE decisions DISABLE TRIGGER USER",
            $"UPDATE decisions SET decision = 'allow', reasons = '[]' WHERE decision_id = '{target.DecisionId}'",
            "ALTER TABLE decisions ENABLE TRIGGER USER");

        var v = await ChainVerifier.VerifyAsync(conn);
        Assert.That(v.Ok, Is.False);
        Assert.That(v.Broken!.DecisionId, Is.EqualTo(target.DecisionId));
        Assert.That(v.Broken.WriterId, Is.EqualTo("b"));
        Assert.That(v.Broken.Seq, Is.EqualTo(3));
        Assert.That(v.Broken.What, Does.StartWith("record_hash differs"));

        var (code, output) = await RunAsync(VerifyLogCommand.Create(), "--db", conn);
        Assert.That(code, Is.EqualTo(1));
        Assert.That(output, Does.Contain(target.DecisionId).And.Contain("writer=b").And.Contain("seq=3"));
        // the other writer's chain is still intact
        Assert.That((await ChainVerifier.VerifyAsync(conn, "a")).Ok, Is.True);
    }

    [Test]
    public async Task Rehashed_edit_is_caught_by_the_next_link()
    {
        // An attacker who recomputes record_hash of the edited row still breaks the next row's prev_hash.
        var (conn, records) = await FreshDatabaseAsync("verify_rehash", "a");
        var target = DecisionChain.Normalize(records[1]) with { Decision = "allow" };
        var forged = DecisionChain.ComputeHash(await HashAsync(conn, records[0].DecisionId), "a", 2, target);
        await ExecAsync(conn,
            "ALTER TABLE decisions DISABLE TRIGGER USER", "ALTER TABLE decision_ids DISABLE TRIGGER USER",
            $"UPDATE decisions SET decision = 'allow', record_hash = '{forged}' WHERE decision_id = '{records[1].DecisionId}'",
            $"UPDATE decision_ids SET record_hash = '{forged}' WHERE decision_id = '{records[1].DecisionId}'",
            "ALTER TABLE decisions ENABLE TRIGGER USER", "ALTER TABLE decision_ids ENABLE TRIGGER USER");
        var v = await ChainVerifier.VerifyAsync(conn);
        Assert.That(v.Broken?.DecisionId, Is.EqualTo(records[2].DecisionId));
        Assert.That(v.Broken!.What, Does.StartWith("prev_hash differs"));
    }

    [Test]
    public async Task Deleted_rows_are_detected_in_the_middle_and_at_the_end()
    {
        var (conn, records) = await FreshDatabaseAsync("verify_delete", "a");
        await ExecAsync(conn, "ALTER TABLE decisions DISABLE TRIGGER USER",
            $"DELETE FROM decisions WHERE decision_id = '{records[4].DecisionId}'");
        var v = await ChainVerifier.VerifyAsync(conn);
        Assert.That(v.Broken?.What, Does.Contain("records deleted"));
        Assert.That(v.Broken!.Seq, Is.EqualTo(4));

        await ExecAsync(conn, $"DELETE FROM decisions WHERE decision_id = '{records[1].DecisionId}'");
        v = await ChainVerifier.VerifyAsync(conn);
        Assert.That(v.Broken?.DecisionId, Is.EqualTo(records[2].DecisionId));
        Assert.That(v.Broken!.What, Does.StartWith("seq gap: expected seq 2, found 3"));
    }

    [Test]
    public async Task Missing_db_is_a_usage_error_and_unreachable_db_an_error()
    {
        var saved = Environment.GetEnvironmentVariable(DbOption.EnvironmentVariable);
        Environment.SetEnvironmentVariable(DbOption.EnvironmentVariable, null);
        try
        {
            var (code, _) = await RunAsync(VerifyLogCommand.Create());
            Assert.That(code, Is.EqualTo(2));
            (code, _) = await RunAsync(VerifyLogCommand.Create(), "--db", "Host=127.0.0.1;Port=1;Username=x;Timeout=2");
            Assert.That(code, Is.EqualTo(3));
            (code, _) = await RunAsync(MigrateCommand.Create(), "--db", "Host=127.0.0.1;Port=1;Username=x;Timeout=2");
            Assert.That(code, Is.EqualTo(1));
            (code, _) = await RunAsync(MigrateCommand.Create(), "--db", "NoSuchKey=1");
            Assert.That(code, Is.EqualTo(2));
        }
        finally
        {
            Environment.SetEnvironmentVariable(DbOption.EnvironmentVariable, saved);
        }
    }

    private static async Task<(int Code, string Output)> RunAsync(System.CommandLine.Command command, params string[] args)
    {
        var root = new System.CommandLine.RootCommand("test") { command };
        var outWriter = new StringWriter();
        var errWriter = new StringWriter();
        var (oldOut, oldErr) = (Console.Out, Console.Error);
        Console.SetOut(outWriter);
        Console.SetError(errWriter);
        try
        {
            var code = await root.Parse([command.Name, .. args]).InvokeAsync();
            return (code, outWriter.ToString() + errWriter);
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldErr);
        }
    }

    private static async Task ExecAsync(string conn, params string[] sql)
    {
        await using var c = new NpgsqlConnection(conn);
        await c.OpenAsync();
        foreach (var s in sql)
        {
            await using var cmd = new NpgsqlCommand(s, c);
            await cmd.ExecuteNonQueryAsync();
        }
    }

    private static async Task<string> HashAsync(string conn, string decisionId)
    {
        await using var c = new NpgsqlConnection(conn);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand("SELECT record_hash FROM decisions WHERE decision_id = @d", c);
        cmd.Parameters.AddWithValue("d", decisionId);
        return (string)(await cmd.ExecuteScalarAsync())!;
    }
}
