using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Pdp.Client;
using Pdp.Client.Mcp;
using SampleMcpServer;

// Usage: SampleMcpServer ROOT_FOLDER
//   POLICYPOINT_IDENTITY  the workload's SPIFFE ID (required), e.g. spiffe://example.org/agent/x
//   POLICYPOINT_PDP       the PDP's gRPC address (default http://127.0.0.1:50051)
// A stdio MCP server: stdout carries the protocol, logs go to stderr.
if (args.Length != 1)
{
    Console.Error.WriteLine("usage: SampleMcpServer ROOT_FOLDER   (env POLICYPOINT_IDENTITY, POLICYPOINT_PDP)");
    return 2;
}
var identity = Environment.GetEnvironmentVariable("POLICYPOINT_IDENTITY");
if (string.IsNullOrWhiteSpace(identity))
{
    Console.Error.WriteLine("SampleMcpServer: set POLICYPOINT_IDENTITY to the workload's SPIFFE ID");
    return 2;
}
SandboxRoot root;
try { root = new SandboxRoot(args[0]); }
catch (DirectoryNotFoundException e) { Console.Error.WriteLine($"SampleMcpServer: {e.Message}"); return 2; }

var builder = Host.CreateApplicationBuilder();
builder.Logging.ClearProviders();
builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.Services.AddSingleton(root);
// The two lines that put the PDP in front of every tool.
builder.Services.AddPolicyPointClient(o => o.Address = new Uri(Environment.GetEnvironmentVariable("POLICYPOINT_PDP") ?? "http://127.0.0.1:50051"));
builder.Services.AddMcpServer(o => o.ServerInfo = new() { Name = "filesystem", Version = "1.0.0" })
    .WithStdioServerTransport()
    .WithTools<FileTools>()
    .WithPolicyPointAuthorization(o => o.SpiffeId = identity);

await builder.Build().RunAsync();
return 0;
