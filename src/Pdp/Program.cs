using System.CommandLine;
using Pdp.Cli;

// `pdp`: one executable in the manner of `opa` — each subcommand lives in its own file under Cli/.
var root = new RootCommand("PolicyPoint: a policy decision point for AI agents' MCP tool calls.");
root.Subcommands.Add(ServeCommand.Create());
root.Subcommands.Add(EvalCommand.Create());
root.Subcommands.Add(TestCommand.Create());
root.Subcommands.Add(MigrateCommand.Create());
root.Subcommands.Add(VerifyLogCommand.Create());
root.Subcommands.Add(McpGuardCommand.Create());
return await root.Parse(args).InvokeAsync();
