using System.IO.Pipelines;
using System.Text;
using System.Text.Json.Nodes;
using Pdp.Client;
using Pdp.Client.McpGuard;

namespace Pdp.Mcp.Tests.Infrastructure;

/// <summary>
/// Runs an <see cref="McpGuardProxy"/> over in-memory pipes: the test plays both the MCP client and the child server,
/// line by line, so it can check exactly what crosses the guard and in which order.
/// </summary>
public sealed class GuardHarness : IAsyncDisposable
{
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(10);
    private readonly Pipe _clientToGuard = new(), _guardToClient = new(), _guardToChild = new(), _childToGuard = new();
    private readonly StreamWriter _client, _child;
    private readonly System.Threading.Channels.Channel<string?> _atClient, _atChild;

    /// <summary>The guard under test.</summary>
    public McpGuardProxy Guard { get; }

    /// <summary>Completes when the guard stops relaying.</summary>
    public Task Running { get; }

    public GuardHarness(McpGuardOptions options, IPdpClient pdp)
    {
        Guard = new McpGuardProxy(options, pdp);
        Running = Guard.RunAsync(_clientToGuard.Reader.AsStream(), _guardToClient.Writer.AsStream(), _guardToChild.Writer.AsStream(), _childToGuard.Reader.AsStream());
        _client = new StreamWriter(_clientToGuard.Writer.AsStream(), new UTF8Encoding(false)) { AutoFlush = true, NewLine = "\n" };
        _child = new StreamWriter(_childToGuard.Writer.AsStream(), new UTF8Encoding(false)) { AutoFlush = true, NewLine = "\n" };
        _atClient = Drain(_guardToClient.Reader.AsStream());
        _atChild = Drain(_guardToChild.Reader.AsStream());
    }

    /// <summary>The client sends one raw line to the guard.</summary>
    public Task FromClient(string line) => _client.WriteLineAsync(line);

    /// <summary>The child writes one raw line on its stdout.</summary>
    public Task FromChild(string line) => _child.WriteLineAsync(line);

    /// <summary>Next raw line the client receives (fails the test after 10 s).</summary>
    public Task<string> AtClient() => ReadLine(_atClient, "client");

    /// <summary>Next raw line the child receives on its stdin (fails the test after 10 s).</summary>
    public Task<string> AtChild() => ReadLine(_atChild, "child");

    /// <summary>Null if the child receives nothing within <paramref name="wait"/>, else the line.</summary>
    public async Task<string?> AtChildWithin(TimeSpan wait)
    {
        using var cts = new CancellationTokenSource(wait);
        try { return await _atChild.Reader.ReadAsync(cts.Token); }
        catch (OperationCanceledException) { return null; }
    }

    /// <summary>Ends the child's stdout, which ends the guard's run.</summary>
    public Task CloseChild() => _childToGuard.Writer.CompleteAsync().AsTask();

    /// <summary>Ends the client's stdin.</summary>
    public Task CloseClient() => _clientToGuard.Writer.CompleteAsync().AsTask();

    // Reads lines in the background so that a timed-out wait never leaves a read pending on the stream.
    private static System.Threading.Channels.Channel<string?> Drain(Stream stream)
    {
        var channel = System.Threading.Channels.Channel.CreateUnbounded<string?>();
        _ = Task.Run(async () =>
        {
            using var reader = new StreamReader(stream, Encoding.UTF8);
            while (await reader.ReadLineAsync() is { } line) await channel.Writer.WriteAsync(line);
            await channel.Writer.WriteAsync(null);
        });
        return channel;
    }

    private static async Task<string> ReadLine(System.Threading.Channels.Channel<string?> lines, string who)
    {
        var line = await lines.Reader.ReadAsync().AsTask().WaitAsync(ReadTimeout);
        Assert.That(line, Is.Not.Null, $"the {who} side was closed");
        return line!;
    }

    /// <summary>Parses a received line.</summary>
    public static JsonObject Json(string line) => JsonNode.Parse(line)!.AsObject();

    public async ValueTask DisposeAsync()
    {
        await CloseChild();
        await CloseClient();
        await Running.WaitAsync(TimeSpan.FromSeconds(5));
    }
}
