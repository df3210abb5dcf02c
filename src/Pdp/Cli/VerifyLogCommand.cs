using System.CommandLine;
using Npgsql;
using Pdp.DecisionLog;

namespace Pdp.Cli;

/// <summary>
/// <c>pdp verify-log --db CONN [--writer ID]</c>: recomputes every writer's hash chain. Prints
/// <c>OK: N records, M writers</c> and exits 0, or names the first broken link and exits 1 (2 on usage errors,
/// 3 when the database cannot be read).
/// </summary>
internal static class VerifyLogCommand
{
    /// <summary>Builds the <c>verify-log</c> command.</summary>
    public static Command Create()
    {
        var db = DbOption.Create();
        var writer = new Option<string?>("--writer") { Description = "Verify only this writer's chain (default: all writers)." };
        var command = new Command("verify-log", "Verify the decision log's hash chains: detects edited, deleted or reordered records.");
        command.Options.Add(db);
        command.Options.Add(writer);
        command.SetAction(async (parseResult, ct) =>
        {
            var conn = DbOption.Resolve(parseResult.GetValue(db));
            if (conn is null)
            {
                Console.Error.WriteLine("pdp verify-log: --db or environment variable PDP_DB is required");
                return 2;
            }
            try
            {
                var result = await ChainVerifier.VerifyAsync(conn, parseResult.GetValue(writer), ct);
                if (result.Ok)
                {
                    Console.WriteLine($"OK: {result.Records} records, {result.Writers} writers");
                    return 0;
                }
                Console.WriteLine($"BROKEN: {result.Broken} ({result.Records} records verified before it)");
                return 1;
            }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine($"pdp verify-log: {e.Message}");
                return 2;
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException)
            {
                Console.Error.WriteLine($"pdp verify-log: cannot read the decision log: {e.Message}");
                return 3;
            }
        });
        return command;
    }
}
