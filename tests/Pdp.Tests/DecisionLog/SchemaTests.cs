using Npgsql;
using Pdp.DecisionLog;
using Pdp.Storage;
using Pdp.Tests.Infrastructure;

namespace Pdp.Tests.DecisionLog;

/// <summary>Migrations, append-only enforcement, roles and the compliance views, on a real PostgreSQL.</summary>
[TestFixture]
public class SchemaTests
{
    private PostgresCluster _pg = null!;

    [OneTimeSetUp]
    public async Task Start()
    {
        _pg = await PostgresCluster.CreateAsync();
        await DatabaseMigrator.MigrateAsync(_pg.ConnectionString);
        await using var log = new PostgresDecisionLog(new DecisionLogOptions
        {
            ConnectionString = _pg.ConnectionString,
            SpoolDirectory = Path.Combine(_pg.Directory, "spool-schema"),
            WriterId = "schema-tests",
        });
        await log.AppendAsync(TestRecords.Full("schema-1", decision: "deny"));
        await log.AppendAsync(TestRecords.Full("schema-2", decision: "allow"));
        await using var conn = await OpenAsync();
        await ExecAsync(conn, "INSERT INTO outcomes (decision_id, status, detail) VALUES ('schema-2', 'succeeded', 'ok')");
        await ExecAsync(conn, "INSERT INTO approvals (decision_id, approver, approved, comment) VALUES ('schema-1', 'bob', true, 'fine')");
    }

    [OneTimeTearDown]
    public async Task Stop() => await _pg.DisposeAsync();

    [Test]
    public async Task Migrations_apply_twice_idempotently()
    {
        await DatabaseMigrator.MigrateAsync(_pg.ConnectionString);
        await DatabaseMigrator.MigrateAsync(_pg.ConnectionString);
        await using var conn = await OpenAsync();
        Assert.That(await ScalarAsync<long>(conn, "SELECT count(*) FROM schemaversions"), Is.EqualTo(DatabaseMigrator.ScriptNames.Count));
        Assert.That(DatabaseMigrator.ScriptNames, Has.Count.GreaterThanOrEqualTo(5));
        Assert.That(await ScalarAsync<long>(conn, "SELECT count(*) FROM decisions WHERE decision_id IN ('schema-1', 'schema-2')"), Is.EqualTo(2));
        var views = await ScalarAsync<long>(conn, "SELECT count(*) FROM information_schema.views WHERE table_schema = 'compliance'");
        Assert.That(views, Is.EqualTo(6));
    }

    [Test]
    public async Task Migrate_creates_a_missing_database()
    {
        var conn = _pg.ConnectionStringFor("pdp_created_by_migrate");
        await DatabaseMigrator.MigrateAsync(conn);
        await using var c = new NpgsqlConnection(conn);
        await c.OpenAsync();
        Assert.That(await ScalarAsync<long>(c, "SELECT count(*) FROM decisions"), Is.Zero);
    }

    [Test]
    public async Task Decisions_are_partitioned_by_month_with_a_default_partition()
    {
        await using var conn = await OpenAsync();
        var parts = await ListAsync(conn, "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'decisions'::regclass");
        var month = DateTime.UtcNow;
        Assert.That(parts, Does.Contain("decisions_default"));
        Assert.That(parts, Does.Contain($"decisions_{month:yyyy_MM}"));
        Assert.That(parts, Does.Contain($"decisions_{month.AddMonths(1):yyyy_MM}"));
        // a decision far in the past has no partition: it lands in the default one instead of failing
        await using var log = NewLog("schema-old");
        await log.AppendAsync(TestRecords.Full("schema-old-1", at: new DateTimeOffset(2001, 1, 1, 0, 0, 0, TimeSpan.Zero)));
        Assert.That(await ScalarAsync<string>(conn, "SELECT tableoid::regclass::text FROM decisions WHERE decision_id = 'schema-old-1'"),
            Is.EqualTo("decisions_2001_01").Or.EqualTo("decisions_default"));
    }

    [TestCase("UPDATE decisions SET tool = 'x' WHERE decision_id = 'schema-1'")]
    [TestCase("DELETE FROM decisions WHERE decision_id = 'schema-1'")]
    [TestCase("TRUNCATE decisions")]
    [TestCase("UPDATE decision_ids SET seq = 99")]
    [TestCase("DELETE FROM outcomes")]
    [TestCase("UPDATE approvals SET approved = false")]
    public async Task Owner_cannot_modify_because_of_the_trigger(string sql)
    {
        await using var conn = await OpenAsync();
        var e = Assert.ThrowsAsync<PostgresException>(() => ExecAsync(conn, sql));
        Assert.That(e!.MessageText, Does.Contain("append-only"));
    }

    [TestCase("UPDATE decisions SET tool = 'x' WHERE decision_id = 'schema-1'")]
    [TestCase("DELETE FROM decisions WHERE decision_id = 'schema-1'")]
    [TestCase("TRUNCATE decisions")]
    [TestCase("DELETE FROM decision_ids")]
    [TestCase("UPDATE outcomes SET status = 'x'")]
    public async Task Pdp_writer_lacks_the_privilege_to_modify(string sql)
    {
        await using var conn = await OpenAsync();
        await ExecAsync(conn, "SET ROLE pdp_writer");
        var e = Assert.ThrowsAsync<PostgresException>(() => ExecAsync(conn, sql));
        Assert.That(e!.SqlState, Is.EqualTo(PostgresErrorCodes.InsufficientPrivilege));
        Assert.That(e.MessageText, Does.Contain("permission denied"));
    }

    [Test]
    public async Task Pdp_writer_can_insert_and_select()
    {
        await using var conn = await OpenAsync();
        await ExecAsync(conn, "SET ROLE pdp_writer");
        Assert.That(await ScalarAsync<long>(conn, "SELECT count(*) FROM decision_ids WHERE decision_id = 'schema-1'"), Is.EqualTo(1));
        await ExecAsync(conn, "INSERT INTO outcomes (decision_id, status) VALUES ('schema-1', 'not_executed')");
        Assert.That(await ScalarAsync<int>(conn, "SELECT ensure_decision_partitions(now() + interval '3 months')"), Is.GreaterThanOrEqualTo(0));
    }

    [Test]
    public async Task Compliance_reader_sees_the_views_only()
    {
        await using var conn = await OpenAsync();
        await ExecAsync(conn, "SET ROLE compliance_reader");
        foreach (var v in new[] { "decision_chain", "denials_by_reason", "exceptions_and_approvals", "workload_tool_usage", "credential_usage", "policy_revisions" })
            Assert.That(await ScalarAsync<long>(conn, $"SELECT count(*) FROM compliance.{v}"), Is.GreaterThan(0), v);
        foreach (var sql in new[]
                 {
                     "SELECT count(*) FROM decisions", "SELECT count(*) FROM decisions_default", "SELECT count(*) FROM outcomes",
                     "SELECT count(*) FROM approvals", "SELECT count(*) FROM decision_ids",
                     "INSERT INTO outcomes (decision_id, status) VALUES ('schema-1', 'x')",
                     "INSERT INTO decision_ids VALUES ('x', now(), 'w', 1, 'h')",
                 })
        {
            var e = Assert.ThrowsAsync<PostgresException>(() => ExecAsync(conn, sql), sql);
            Assert.That(e!.SqlState, Is.EqualTo(PostgresErrorCodes.InsufficientPrivilege), sql);
        }
    }

    [Test]
    public async Task A_view_added_later_is_readable_by_compliance_reader()
    {
        await using var conn = await OpenAsync();
        await ExecAsync(conn, "CREATE OR REPLACE VIEW compliance.later_view AS SELECT count(*) AS n FROM decisions");
        await ExecAsync(conn, "SET ROLE compliance_reader");
        Assert.That(await ScalarAsync<long>(conn, "SELECT n FROM compliance.later_view"), Is.GreaterThan(0));
        await ExecAsync(conn, "RESET ROLE");
        await ExecAsync(conn, "DROP VIEW compliance.later_view");
    }

    [Test]
    public async Task Views_show_chain_denials_approvals_and_credentials()
    {
        await using var conn = await OpenAsync();
        await ExecAsync(conn, "SET ROLE compliance_reader");
        Assert.That(await ScalarAsync<string>(conn,
            "SELECT outcomes->0->>'status' FROM compliance.decision_chain WHERE decision_id = 'schema-2'"), Is.EqualTo("succeeded"));
        Assert.That(await ScalarAsync<long>(conn,
            "SELECT sum(decisions)::bigint FROM compliance.denials_by_reason WHERE reason_code = 'secret_then_egress'"), Is.GreaterThanOrEqualTo(1));
        Assert.That(await ScalarAsync<string>(conn,
            "SELECT approver FROM compliance.exceptions_and_approvals WHERE decision_id = 'schema-1'"), Is.EqualTo("bob"));
        Assert.That(await ScalarAsync<long>(conn,
            "SELECT count(DISTINCT credential_kind) FROM compliance.credential_usage"), Is.EqualTo(2));
        Assert.That(await ScalarAsync<string>(conn,
            "SELECT policy_revision FROM compliance.policy_revisions"), Is.EqualTo("rev-2026-11-25"));
    }

    [Test]
    public async Task Readme_queries_run_as_compliance_reader()
    {
        var text = await File.ReadAllTextAsync(FindRepoFile("src/Pdp/Storage/README-queries.sql"));
        var code = string.Join('\n', text.Split('\n').Where(l => !l.TrimStart().StartsWith("--")));
        var queries = code.Split(';').Select(q => q.Trim()).Where(q => q.Length > 0).ToList();
        Assert.That(queries, Has.Count.EqualTo(3));
        await using var conn = await OpenAsync();
        await ExecAsync(conn, "SET ROLE compliance_reader");
        foreach (var q in queries)
        {
            await using var cmd = new NpgsqlCommand(q, conn);
            await using var reader = await cmd.ExecuteReaderAsync();
            while (await reader.ReadAsync()) { }
        }
    }

    private PostgresDecisionLog NewLog(string writer) => new(new DecisionLogOptions
    {
        ConnectionString = _pg.ConnectionString,
        SpoolDirectory = Path.Combine(_pg.Directory, "spool-" + writer),
        WriterId = writer,
    });

    private async Task<NpgsqlConnection> OpenAsync()
    {
        var c = new NpgsqlConnection(_pg.ConnectionString);
        await c.OpenAsync();
        return c;
    }

    internal static async Task ExecAsync(NpgsqlConnection c, string sql)
    {
        await using var cmd = new NpgsqlCommand(sql, c);
        await cmd.ExecuteNonQueryAsync();
    }

    internal static async Task<T> ScalarAsync<T>(NpgsqlConnection c, string sql)
    {
        await using var cmd = new NpgsqlCommand(sql, c);
        return (T)(await cmd.ExecuteScalarAsync())!;
    }

    private static async Task<List<string>> ListAsync(NpgsqlConnection c, string sql)
    {
        await using var cmd = new NpgsqlCommand(sql, c);
        await using var r = await cmd.ExecuteReaderAsync();
        var list = new List<string>();
        while (await r.ReadAsync()) list.Add(r.GetString(0));
        return list;
    }

    internal static string FindRepoFile(string relative) => Path.Combine(PostgresCluster.RepositoryRoot, relative);
}
