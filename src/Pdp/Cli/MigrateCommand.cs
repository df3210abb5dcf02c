using System.CommandLine;
using Microsoft.Extensions.Logging;
using Npgsql;
using Pdp.Storage;

namespace Pdp.Cli;

/// <summary>
/// <c>pdp migrate --db CONN</c>: creates the database if needed and applies the schema migrations.
/// Exit codes: 0 up to date, 1 a migration or the connection failed, 2 usage error.
/// </summary>
internal static class MigrateCommand
{
    /// <summary>Builds the <c>migrate</c> command.</summary>
    public static Command Create()
    {
        var db = DbOption.Create();
        var command = new Command("migrate", "Create or update the PostgreSQL schema of the decision log (plain SQL migrations, applied in order).");
        command.Options.Add(db);
        command.SetAction(async (parseResult, ct) =>
        {
            var conn = DbOption.Resolve(parseResult.GetValue(db));
            if (conn is null)
            {
                Console.Error.WriteLine("pdp migrate: --db or environment variable PDP_DB is required");
                return 2;
            }
            using var factory = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Information));
            try
            {
                await DatabaseMigrator.MigrateAsync(conn, factory.CreateLogger("pdp.migrate"));
                Console.WriteLine("OK: schema up to date");
                return 0;
            }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine($"pdp migrate: {e.Message}");
                return 2;
            }
            catch (Exception e) when (e is MigrationException or NpgsqlException or TimeoutException or InvalidOperationException)
            {
                Console.Error.WriteLine($"pdp migrate: {e.Message}");
                return 1;
            }
        });
        return command;
    }
}

/// <summary>The shared <c>--db</c> option: an Npgsql connection string, defaulting to env <c>PDP_DB</c>.</summary>
internal static class DbOption
{
    /// <summary>Environment variable read when <c>--db</c> is absent.</summary>
    public const string EnvironmentVariable = "PDP_DB";

    /// <summary>A new <c>--db</c> option (not marked required so that <c>PDP_DB</c> can stand in).</summary>
    public static Option<string?> Create() => new("--db")
    {
        Description = "PostgreSQL connection string, e.g. \"Host=127.0.0.1;Port=5432;Username=postgres;Database=pdp\" (default: $PDP_DB)",
    };

    /// <summary>The option's value, else <c>PDP_DB</c>, else null.</summary>
    public static string? Resolve(string? value) =>
        !string.IsNullOrWhiteSpace(value) ? value
        : Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } env ? env : null;
}
