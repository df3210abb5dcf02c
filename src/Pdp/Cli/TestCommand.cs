using System.CommandLine;

namespace Pdp.Cli;

/// <summary><c>pdp test</c> (not yet implemented).</summary>
internal static class TestCommand
{
    public static Command Create()
    {
        var command = new Command("test", "Not yet implemented.");
        command.SetAction(_ => { Console.Error.WriteLine("pdp test: not yet implemented"); return 2; });
        return command;
    }
}
