using System.CommandLine;

namespace Pdp.Cli;

/// <summary><c>pdp serve</c> (not yet implemented).</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var command = new Command("serve", "Not yet implemented.");
        command.SetAction(_ => { Console.Error.WriteLine("pdp serve: not yet implemented"); return 2; });
        return command;
    }
}
