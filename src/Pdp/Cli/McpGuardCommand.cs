using System.CommandLine;

namespace Pdp.Cli;

/// <summary><c>pdp mcp-guard</c> (not yet implemented).</summary>
internal static class McpGuardCommand
{
    public static Command Create()
    {
        var command = new Command("mcp-guard", "Not yet implemented.");
        command.SetAction(_ => { Console.Error.WriteLine("pdp mcp-guard: not yet implemented"); return 2; });
        return command;
    }
}
