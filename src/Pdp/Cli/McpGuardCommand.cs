using System.CommandLine;
using Microsoft.Extensions.Logging;
using Pdp.Client;
using Pdp.Client.McpGuard;

namespace Pdp.Cli;

/// <summary>
/// <c>pdp mcp-guard --identity spiffe://… [--pdp URL] [--server NAME] [--filter-tools-list] [--session-id ID] -- COMMAND ARGS…</c>:
/// runs COMMAND as a stdio MCP server and relays MCP between it and the client on this process's stdin/stdout,
/// asking the PDP before every <c>tools/call</c>. Exits with the child's exit code; 2 for usage errors, 127 when the
/// command cannot be started. Logs go to stderr only (stdout carries the protocol).
/// </summary>
internal static class McpGuardCommand
{
    /// <summary>The PDP address used when neither <c>--pdp</c> nor <c>POLICYPOINT_PDP</c> is given.</summary>
    public const string DefaultPdp = "http://127.0.0.1:50051";

    public static Command Create()
    {
        var identity = new Option<string>("--identity") { Description = "Workload identity of the client (SPIFFE ID), e.g. spiffe://example.org/agent/x.", Required = true };
        var pdp = new Option<string?>("--pdp") { Description = $"PDP gRPC address (default $POLICYPOINT_PDP or {DefaultPdp})." };
        var server = new Option<string?>("--server") { Description = "tool.server sent to the PDP (default: the child's serverInfo.name)." };
        var filter = new Option<bool>("--filter-tools-list") { Description = "Hide from tools/list the tools this identity may never call (reason no_grant)." };
        var session = new Option<string?>("--session-id") { Description = "Session id sent to the PDP (default: a random pp-… id)." };
        var timeout = new Option<int>("--pdp-timeout-ms") { Description = "Deadline of one Check attempt in milliseconds.", DefaultValueFactory = _ => 2000 };
        var verbose = new Option<bool>("--verbose") { Description = "Log every decision to stderr." };
        var commandLine = new Argument<string[]>("command") { Description = "The MCP server to run, after --.", Arity = ArgumentArity.OneOrMore };

        var command = new Command("mcp-guard", "Put the PDP in front of a stdio MCP server: pdp mcp-guard --identity spiffe://… -- COMMAND ARGS…")
        {
            identity, pdp, server, filter, session, timeout, verbose, commandLine,
        };
        command.SetAction(async (parse, ct) =>
        {
            var argv = parse.GetValue(commandLine) ?? [];
            var address = parse.GetValue(pdp) ?? Environment.GetEnvironmentVariable("POLICYPOINT_PDP") ?? DefaultPdp;
            if (!Uri.TryCreate(address, UriKind.Absolute, out var uri))
            {
                Console.Error.WriteLine($"pdp mcp-guard: --pdp must be an absolute URI, got '{address}'");
                return 2;
            }
            if (argv.Length == 0)
            {
                Console.Error.WriteLine("pdp mcp-guard: missing server command (pdp mcp-guard --identity … -- COMMAND ARGS…)");
                return 2;
            }
            var guardOptions = new McpGuardOptions
            {
                SpiffeId = parse.GetValue(identity) ?? "",
                ServerName = parse.GetValue(server),
                FilterToolsList = parse.GetValue(filter),
                SessionId = parse.GetValue(session),
            };
            var clientOptions = new PdpClientOptions { Address = uri, AttemptTimeout = TimeSpan.FromMilliseconds(Math.Max(1, parse.GetValue(timeout))) };
            try
            {
                guardOptions.Validate();
                clientOptions.Validate();
            }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine($"pdp mcp-guard: {e.Message}");
                return 2;
            }

            // stdout carries MCP: every log line goes to stderr.
            using var loggers = LoggerFactory.Create(b => b
                .SetMinimumLevel(parse.GetValue(verbose) ? LogLevel.Information : LogLevel.Warning)
                .AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; })
                .AddFilter("System.Net.Http", LogLevel.Warning)
                .Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace));
            using var client = new PdpClient(clientOptions, loggers.CreateLogger<PdpClient>());
            var guard = new McpGuardProxy(guardOptions, client, loggers.CreateLogger("PolicyPoint.McpGuard"));
            try
            {
                return await guard.RunProcessAsync(argv[0], argv[1..], Console.OpenStandardInput(), Console.OpenStandardOutput(), ct);
            }
            catch (InvalidOperationException e)
            {
                Console.Error.WriteLine($"pdp mcp-guard: {e.Message}");
                return 127;
            }
        });
        return command;
    }
}
