using System.CommandLine;

namespace Pdp.Cli;

/// <summary><c>pdp verify-log</c> (not yet implemented).</summary>
internal static class VerifyLogCommand
{
    public static Command Create()
    {
        var command = new Command("verify-log", "Not yet implemented.");
        command.SetAction(_ => { Console.Error.WriteLine("pdp verify-log: not yet implemented"); return 2; });
        return command;
    }
}
