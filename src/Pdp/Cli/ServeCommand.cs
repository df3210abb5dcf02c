using System.CommandLine;
using Microsoft.Extensions.Configuration;
using Npgsql;
using Pdp.Policy;
using Pdp.Service;
using Pdp.Storage;

namespace Pdp.Cli;

/// <summary>
/// <c>pdp serve --policy DIR_OR_BUNDLE [--entrypoint PATH] --db CONN --listen HOST:PORT [--spool DIR] [--opa-url URL] [--log-ack commit|journal]</c>:
/// migrates the database, loads the bundle and serves gRPC until SIGINT/SIGTERM, then flushes the decision log.
/// Each flag falls back to an environment variable (<c>PDP_POLICY</c>, <c>PDP_ENTRYPOINT</c>, <c>PDP_DB</c>,
/// <c>PDP_LISTEN</c>, <c>PDP_SPOOL</c>, <c>PDP_OPA_URL</c>, <c>PDP_LOG_ACK</c>), then to the <c>Pdp</c> section of appsettings.json.
/// <c>PDP_MIGRATE=false</c> skips the start-up migration (for an insert-only database role).
/// Exit codes: 0 stopped cleanly, 1 start-up failed (database, address in use), 2 usage error.
/// </summary>
internal static class ServeCommand
{
    /// <summary>Builds the <c>serve</c> command.</summary>
    public static Command Create()
    {
        var policy = new Option<string?>("--policy") { Description = "Policy bundle: a directory of .rego and data.json/data.yaml files, or an OPA bundle .tar.gz (env PDP_POLICY)" };
        var entrypoint = new Option<string?>("--entrypoint") { Description = $"Decision document path (env PDP_ENTRYPOINT; default {EntrypointPath.Default})" };
        var db = new Option<string?>("--db") { Description = "PostgreSQL connection string of the decision log (env PDP_DB)" };
        var listen = new Option<string?>("--listen") { Description = "HOST:PORT for gRPC over HTTP/2 cleartext (env PDP_LISTEN; default 127.0.0.1:50051)" };
        var spool = new Option<string?>("--spool") { Description = "Local spool folder used while PostgreSQL is unreachable (env PDP_SPOOL)" };
        var opaUrl = new Option<string?>("--opa-url") { Description = "Ask this OPA server's Data API instead of the embedded engine (env PDP_OPA_URL)" };
        var logAck = new Option<string?>("--log-ack") { Description = "When a decision is durable enough to answer: commit (in PostgreSQL, default) or journal (fsynced to the local spool, shipped to PostgreSQL right after) (env PDP_LOG_ACK)" };
        var command = new Command("serve", "Serve the PDP: gRPC Check, decision log reads, health and reflection.");
        foreach (var o in new[] { policy, entrypoint, db, listen, spool, opaUrl, logAck }) command.Options.Add(o);
        command.SetAction(async (parseResult, ct) =>
        {
            PdpServerOptions options;
            try
            {
                options = Resolve(
                    parseResult.GetValue(policy), parseResult.GetValue(entrypoint), parseResult.GetValue(db),
                    parseResult.GetValue(listen), parseResult.GetValue(spool), parseResult.GetValue(opaUrl),
                    parseResult.GetValue(logAck));
                options.Validate();
            }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine($"pdp serve: {e.Message}");
                return 2;
            }
            RunningPdp pdp;
            try
            {
                pdp = await PdpHost.StartAsync(options, cancellationToken: ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return 0;
            }
            catch (Exception e) when (e is MigrationException or NpgsqlException or IOException or InvalidOperationException or TimeoutException)
            {
                Console.Error.WriteLine($"pdp serve: start-up failed: {e.Message}");
                return 1;
            }
            await using (pdp)
            {
                Console.Error.WriteLine($"pdp serve: listening on {pdp.Address}");
                // The host handles SIGTERM/SIGINT itself (ApplicationStopping); the command's token covers Ctrl-C too.
                try { await pdp.App.WaitForShutdownAsync(ct); }
                catch (OperationCanceledException) { }
            }
            return 0;
        });
        return command;
    }

    /// <summary>Flag, else environment variable, else appsettings.json (section <c>Pdp</c>), else the default.</summary>
    internal static PdpServerOptions Resolve(string? policy, string? entrypoint, string? db, string? listen, string? spool, string? opaUrl,
        string? logAck = null)
    {
        var config = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true)
            .Build()
            .GetSection("Pdp");
        string? Pick(string? flag, string env, string key) =>
            !string.IsNullOrWhiteSpace(flag) ? flag
            : Environment.GetEnvironmentVariable(env) is { Length: > 0 } e ? e
            : config[key] is { Length: > 0 } c ? c : null;

        var options = new PdpServerOptions
        {
            Policy = Pick(policy, "PDP_POLICY", "Policy"),
            Entrypoint = Pick(entrypoint, "PDP_ENTRYPOINT", "Entrypoint") ?? EntrypointPath.Default,
            Db = Pick(db, "PDP_DB", "Db"),
            Listen = Pick(listen, "PDP_LISTEN", "Listen") ?? "127.0.0.1:50051",
            Spool = Pick(spool, "PDP_SPOOL", "Spool"),
            OpaUrl = Pick(opaUrl, "PDP_OPA_URL", "OpaUrl"),
        };
        // PDP_MIGRATE=false when the PDP runs with an insert-only role and migrations are applied separately (pdp migrate).
        if (Pick(null, "PDP_MIGRATE", "Migrate") is { } migrate)
            options.Migrate = bool.TryParse(migrate, out var m) ? m : throw new ArgumentException($"PDP_MIGRATE must be true or false, got '{migrate}'");
        if (Pick(null, "PDP_LOG_LANES", "LogLanes") is { } lanes)
            options.LogLanes = int.TryParse(lanes, out var l) ? l : throw new ArgumentException($"PDP_LOG_LANES must be an integer, got '{lanes}'");
        if (Pick(logAck, "PDP_LOG_ACK", "LogAck") is { } ack)
            options.LogAck = ack.Trim().ToLowerInvariant() switch
            {
                "commit" => DecisionLog.DecisionLogAck.Commit,
                "journal" => DecisionLog.DecisionLogAck.Journal,
                _ => throw new ArgumentException($"--log-ack (PDP_LOG_ACK) must be commit or journal, got '{ack}'"),
            };
        if (int.TryParse(config["EvalTimeoutMs"], out var ms) && ms > 0) options.EvalTimeout = TimeSpan.FromMilliseconds(ms);
        if (int.TryParse(config["SessionCacheSize"], out var sc) && sc > 0) options.SessionCacheSize = sc;
        if (int.TryParse(config["SessionHistoryLimit"], out var sh) && sh > 0) options.SessionHistoryLimit = sh;
        var limits = config.GetSection("Limits");
        if (int.TryParse(limits["MaxMessageBytes"], out var mb)) options.Limits.MaxMessageBytes = mb;
        if (int.TryParse(limits["MaxNestingDepth"], out var nd)) options.Limits.MaxNestingDepth = nd;
        if (int.TryParse(limits["MaxStringLength"], out var sl)) options.Limits.MaxStringLength = sl;
        if (int.TryParse(limits["MaxIdLength"], out var il)) options.Limits.MaxIdLength = il;
        return options;
    }
}
