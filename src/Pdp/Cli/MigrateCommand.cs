using System.CommandLine;

namespace Pdp.Cli;

/// <summary><c>pdp migrate</c> (not yet implemented).</summary>
internal static class MigrateCommand
{
    public static Command Create()
    {
        var command = new Command("migrate", "Not yet implemented.");
        command.SetAction(_ => { Console.Error.WriteLine("pdp migrate: not yet implemented"); return 2; });
        return command;
    }
}
