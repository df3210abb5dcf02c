using System.Reflection;
using DbUp;
using DbUp.Engine.Output;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Pdp.Storage;

/// <summary>
/// Applies the embedded SQL migrations (<c>Storage/Migrations/*.sql</c>, in file-name order) with DbUp,
/// journaled in table <c>public.schemaversions</c>, one transaction per script; then creates the decisions
/// partitions of the current and next month. Safe to run again and from several processes in turn.
/// </summary>
public static class DatabaseMigrator
{
    /// <summary>Names of the embedded migration scripts, in the order they apply.</summary>
    public static IReadOnlyList<string> ScriptNames { get; } = typeof(DatabaseMigrator).Assembly.GetManifestResourceNames()
        .Where(IsMigration).Order(StringComparer.Ordinal).ToArray();

    /// <summary>
    /// Creates the database if it does not exist, then brings it up to date.
    /// Throws <see cref="ArgumentException"/> for a malformed connection string and
    /// <see cref="MigrationException"/> naming the failed script when a migration fails.
    /// </summary>
    public static async Task MigrateAsync(string connectionString, ILogger? logger = null)
    {
        if (string.IsNullOrWhiteSpace(connectionString)) throw new ArgumentException("connection string is required");
        try
        {
            _ = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or KeyNotFoundException)
        {
            throw new ArgumentException($"invalid connection string: {e.Message}", e);
        }
        var log = new UpgradeLog(logger);
        // DbUp is synchronous; keep it off the caller's thread.
        await Task.Run(() =>
        {
            EnsureDatabase.For.PostgresqlDatabase(connectionString, log);
            var upgrader = DeployChanges.To.PostgresqlDatabase(connectionString)
                .WithScriptsEmbeddedInAssembly(Assembly.GetExecutingAssembly(), IsMigration)
                .WithTransactionPerScript()
                .WithVariablesDisabled() // $fn$ dollar quotes are SQL, not DbUp variables
                .LogTo(log)
                .Build();
            var result = upgrader.PerformUpgrade();
            if (!result.Successful)
                throw new MigrationException(
                    $"migration {result.ErrorScript?.Name ?? "(unknown)"} failed: {result.Error?.Message}", result.Error);
            foreach (var s in result.Scripts) logger?.LogInformation("Applied migration {Script}", s.Name);
        });
        await using var conn = new NpgsqlConnection(connectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand("SELECT ensure_decision_partitions(now())", conn);
        await cmd.ExecuteScalarAsync();
    }

    private static bool IsMigration(string resourceName) =>
        resourceName.Contains(".Storage.Migrations.", StringComparison.Ordinal) && resourceName.EndsWith(".sql", StringComparison.Ordinal);

    private sealed class UpgradeLog(ILogger? logger) : IUpgradeLog
    {
        public void LogTrace(string format, params object[] args) => logger?.LogTrace(format, args);
        public void LogDebug(string format, params object[] args) => logger?.LogDebug(format, args);
        public void LogInformation(string format, params object[] args) => logger?.LogDebug(format, args);
        public void LogWarning(string format, params object[] args) => logger?.LogWarning(format, args);
        public void LogError(string format, params object[] args) => logger?.LogError(format, args);
        public void LogError(Exception ex, string format, params object[] args) => logger?.LogError(ex, format, args);
    }
}

/// <summary>A migration script failed; the message names it. Earlier scripts stay applied.</summary>
public sealed class MigrationException(string message, Exception? inner) : Exception(message, inner);
