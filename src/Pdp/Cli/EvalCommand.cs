using System.CommandLine;

namespace Pdp.Cli;

/// <summary><c>pdp eval</c> (not yet implemented).</summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        var command = new Command("eval", "Not yet implemented.");
        command.SetAction(_ => { Console.Error.WriteLine("pdp eval: not yet implemented"); return 2; });
        return command;
    }
}
