using Microsoft.Extensions.Logging;

namespace Pdp.Storage;

/// <summary>Applies the embedded SQL migrations (Storage/Migrations/*.sql) in name order with DbUp.</summary>
public static class DatabaseMigrator
{
    /// <summary>Brings the database at <paramref name="connectionString"/> up to date (skeleton).</summary>
    public static Task MigrateAsync(string connectionString, ILogger? logger = null) => Task.CompletedTask;
}
