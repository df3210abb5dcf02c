using System.Collections.Concurrent;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PolicyPoint.V1;

namespace Pdp.Mcp.Tests.Infrastructure;

/// <summary>
/// A scriptable AuthorizationService + DecisionLogService.ReportOutcome hosted with Grpc.AspNetCore on
/// 127.0.0.1:random (h2c). It reuses the message types generated in Pdp.Client and binds the methods by hand, so
/// the tests do not depend on the real service being buildable.
/// </summary>
public sealed class FakePdp : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _counter;

    /// <summary>Decides each Check; default: ALLOW everything. Runs on the server's threads.</summary>
    public Func<CheckRequest, ServerCallContext, Task<CheckResponse>> Decide { get; set; }

    /// <summary>Every Check received, in arrival order.</summary>
    public ConcurrentQueue<CheckRequest> Checks { get; } = new();

    /// <summary>How long ReportOutcome takes to answer (default none).</summary>
    public TimeSpan OutcomeDelay { get; set; }

    /// <summary>Every ReportOutcome received (recorded once answered).</summary>
    public ConcurrentQueue<ReportOutcomeRequest> Outcomes { get; } = new();

    /// <summary>The h2c address, e.g. http://127.0.0.1:41234.</summary>
    public Uri Address { get; }

    private FakePdp(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
        Decide = (r, _) => Task.FromResult(Answer(Decision.Allow));
    }

    /// <summary>A response with a fresh decision id (<c>d-1</c>, <c>d-2</c>, …) and optional reasons as (code, message).</summary>
    public CheckResponse Answer(Decision decision, params (string Code, string Message)[] reasons)
    {
        var response = new CheckResponse { DecisionId = "d-" + Interlocked.Increment(ref _counter), Decision = decision, PolicyRevision = "fake" };
        foreach (var (code, message) in reasons) response.Reasons.Add(new Reason { Code = code, Message = message, Rule = "fake" });
        return response;
    }

    /// <summary>Starts the server; dispose to stop it.</summary>
    public static async Task<FakePdp> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton<Holder>();
        var app = builder.Build();
        app.MapGrpcService<FakeService>();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var pdp = new FakePdp(app, new Uri(address));
        app.Services.GetRequiredService<Holder>().Pdp = pdp;
        return pdp;
    }

    /// <summary>Stops the server.</summary>
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    public sealed class Holder { public FakePdp? Pdp { get; set; } }

    // Grpc.AspNetCore binds handlers only to virtual methods declared on the BindServiceMethod type, like generated bases.
    [BindServiceMethod(typeof(FakeServiceBase), nameof(BindService))]
    public abstract class FakeServiceBase
    {
        private static readonly Method<CheckRequest, CheckResponse> CheckMethod = new(MethodType.Unary, "policypoint.v1.AuthorizationService", "Check",
            Marshallers.Create(m => Google.Protobuf.MessageExtensions.ToByteArray(m), CheckRequest.Parser.ParseFrom),
            Marshallers.Create(m => Google.Protobuf.MessageExtensions.ToByteArray(m), CheckResponse.Parser.ParseFrom));

        private static readonly Method<ReportOutcomeRequest, ReportOutcomeResponse> OutcomeMethod = new(MethodType.Unary, "policypoint.v1.DecisionLogService", "ReportOutcome",
            Marshallers.Create(m => Google.Protobuf.MessageExtensions.ToByteArray(m), ReportOutcomeRequest.Parser.ParseFrom),
            Marshallers.Create(m => Google.Protobuf.MessageExtensions.ToByteArray(m), ReportOutcomeResponse.Parser.ParseFrom));

        public static void BindService(ServiceBinderBase binder, FakeServiceBase? service)
        {
            binder.AddMethod(CheckMethod, service is null ? null! : service.Check);
            binder.AddMethod(OutcomeMethod, service is null ? null! : service.ReportOutcome);
        }

        public abstract Task<CheckResponse> Check(CheckRequest request, ServerCallContext context);

        public abstract Task<ReportOutcomeResponse> ReportOutcome(ReportOutcomeRequest request, ServerCallContext context);
    }

    public sealed class FakeService(Holder holder) : FakeServiceBase
    {
        public override Task<CheckResponse> Check(CheckRequest request, ServerCallContext context)
        {
            holder.Pdp!.Checks.Enqueue(request);
            return holder.Pdp.Decide(request, context);
        }

        public override async Task<ReportOutcomeResponse> ReportOutcome(ReportOutcomeRequest request, ServerCallContext context)
        {
            if (holder.Pdp!.OutcomeDelay > TimeSpan.Zero) await Task.Delay(holder.Pdp.OutcomeDelay, context.CancellationToken);
            holder.Pdp.Outcomes.Enqueue(request);
            return new ReportOutcomeResponse();
        }
    }
}
