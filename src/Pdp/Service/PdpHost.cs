using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Pdp.Bundles;
using Pdp.DecisionLog;
using Pdp.Policy;
using Pdp.Storage;

namespace Pdp.Service;

/// <summary>
/// Builds and runs the PDP as an ASP.NET Core app: gRPC <c>AuthorizationService</c> and <c>DecisionLogService</c>,
/// <c>grpc.health.v1</c> (NOT_SERVING until a policy is loaded), gRPC reflection, JSON console logs, HTTP/2 cleartext
/// on the listen address, and a shutdown that flushes the decision log. Used by <c>pdp serve</c>, tests and the
/// end-to-end harness (listen on <c>127.0.0.1:0</c> and read <see cref="RunningPdp.Port"/>).
/// </summary>
public static class PdpHost
{
    /// <summary>
    /// Validates <paramref name="options"/>, migrates the database (when <see cref="PdpServerOptions.Migrate"/> and
    /// a connection string are set), builds the app and starts it. Throws <see cref="ArgumentException"/> for bad
    /// options and whatever the migration or Kestrel throw (e.g. address in use).
    /// </summary>
    public static async Task<RunningPdp> StartAsync(PdpServerOptions options, Action<IServiceCollection>? configure = null,
        CancellationToken cancellationToken = default)
    {
        options.Validate();
        if (options.Migrate && options.DecisionLog is null && !string.IsNullOrWhiteSpace(options.Db))
            await DatabaseMigrator.MigrateAsync(options.Db!, null).ConfigureAwait(false);
        var app = Build(options, configure);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        return new RunningPdp(app);
    }

    /// <summary>Builds (does not start, does not migrate) the app for <paramref name="options"/>.</summary>
    public static WebApplication Build(PdpServerOptions options, Action<IServiceCollection>? configure = null)
    {
        options.Validate();
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = [],
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = Environment.GetEnvironmentVariable("DOTNET_ENVIRONMENT") ?? Environments.Production,
        });
        builder.Logging.ClearProviders();
        builder.Logging.AddJsonConsole(o =>
        {
            o.UseUtcTimestamp = true;
            o.TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z' ";
        });
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));

        var (address, port) = ParseListen(options.Listen);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = options.Limits.TransportMaxReceiveBytes + 1024;
            void Http2(ListenOptions l) => l.Protocols = HttpProtocols.Http2;
            if (address is null) k.ListenLocalhost(port, Http2);
            else k.Listen(address, port, Http2);
        });

        AuthorizationGrpcService.RecursionLimit = 3 * options.Limits.MaxNestingDepth + 16;
        var services = builder.Services;
        services.AddSingleton(options);
        services.AddSingleton(options.Limits);
        services.AddGrpc(o =>
        {
            o.MaxReceiveMessageSize = options.Limits.TransportMaxReceiveBytes;
            o.EnableDetailedErrors = false;
        });
        services.AddGrpcReflection();
        services.AddGrpcHealthChecks(o =>
        {
            o.Services.Map("", _ => true);
            o.Services.Map("policypoint.v1.AuthorizationService", _ => true);
        }).AddCheck<PolicyHealthCheck>("policy");

        AddPolicyEngine(services, options);
        AddDecisionLog(services, options);
        services.AddSingleton(sp => new SessionHistoryCache(sp.GetRequiredService<IDecisionLog>(),
            options.SessionCacheSize, options.SessionHistoryLimit));
        services.AddSingleton<CheckProcessor>();
        configure?.Invoke(services);

        var app = builder.Build();
        app.MapGrpcService<AuthorizationGrpcService>();
        app.MapGrpcService<DecisionLogGrpcService>();
        app.MapGrpcHealthChecksService();
        app.MapGrpcReflectionService();
        // Plain HTTP probe for containers (same port, HTTP/2 cleartext: curl --http2-prior-knowledge): 200 once a
        // policy is loaded, 503 before.
        app.MapHealthChecks("/healthz");
        return app;
    }

    private static void AddPolicyEngine(IServiceCollection services, PdpServerOptions options)
    {
        if (options.PolicyEngine is { } engine)
        {
            services.AddSingleton(engine);
            if (engine is EmbeddedPolicyEngine embedded && !string.IsNullOrWhiteSpace(options.Policy)) AddWatcher(services, options, embedded);
            return;
        }
        if (!string.IsNullOrWhiteSpace(options.OpaUrl))
        {
            var baseUrl = options.OpaUrl!.EndsWith('/') ? options.OpaUrl : options.OpaUrl + "/";
            var opa = new OpaPolicyEngine(new HttpClient { BaseAddress = new Uri(baseUrl), Timeout = options.EvalTimeout }, options.Entrypoint);
            services.AddSingleton(opa);
            services.AddSingleton<IPolicyEngine>(opa);
            services.AddHostedService(sp => new OpaHealthPoller(opa, sp.GetRequiredService<ILogger<OpaHealthPoller>>()));
            return;
        }
        var local = new EmbeddedPolicyEngine(options.Entrypoint, options.EvalTimeout);
        services.AddSingleton(local);
        services.AddSingleton<IPolicyEngine>(local);
        AddWatcher(services, options, local);
    }

    private static void AddWatcher(IServiceCollection services, PdpServerOptions options, EmbeddedPolicyEngine engine)
    {
        services.AddSingleton(sp => new BundleWatcher(options.Policy!, engine, sp.GetRequiredService<ILogger<BundleWatcher>>(),
            options.BundlePollInterval));
        services.AddHostedService(sp => sp.GetRequiredService<BundleWatcher>());
    }

    private static void AddDecisionLog(IServiceCollection services, PdpServerOptions options)
    {
        if (!string.IsNullOrWhiteSpace(options.Db))
            services.AddSingleton(_ => NpgsqlDataSource.Create(options.Db!));
        if (options.DecisionLog is { } log)
        {
            services.AddSingleton(log);
        }
        else
        {
            services.AddSingleton(sp =>
            {
                var logOptions = new DecisionLogOptions
                {
                    ConnectionString = options.Db!,
                    WriterLanes = options.LogLanes,
                    Acknowledge = options.LogAck,
                };
                if (!string.IsNullOrWhiteSpace(options.Spool)) logOptions.SpoolDirectory = options.Spool!;
                return new PostgresDecisionLog(logOptions, sp.GetRequiredService<ILogger<PostgresDecisionLog>>());
            });
            services.AddSingleton<IDecisionLog>(sp => sp.GetRequiredService<PostgresDecisionLog>());
        }
        services.AddHostedService(sp => new DecisionLogLifetime(sp.GetRequiredService<IDecisionLog>(),
            sp.GetRequiredService<ILogger<DecisionLogLifetime>>()));
    }

    /// <summary>
    /// Parses <c>HOST:PORT</c> (<c>[::1]:PORT</c> for IPv6; <c>localhost</c>; <c>*</c> or <c>0.0.0.0</c> for all
    /// interfaces). Returns a null address for localhost. Throws <see cref="ArgumentException"/> when malformed.
    /// </summary>
    public static (IPAddress? Address, int Port) ParseListen(string listen)
    {
        if (string.IsNullOrWhiteSpace(listen)) throw new ArgumentException("--listen must be HOST:PORT");
        var colon = listen.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(listen[(colon + 1)..], out var port) || port is < 0 or > 65535)
            throw new ArgumentException($"--listen '{listen}' must be HOST:PORT with a port in 0..65535");
        var host = listen[..colon].Trim('[', ']');
        if (host == "localhost") return (null, port);
        if (host == "*") return (IPAddress.Any, port);
        if (!IPAddress.TryParse(host, out var address))
            throw new ArgumentException($"--listen '{listen}': host must be an IP address, localhost or *");
        return (address, port);
    }
}

/// <summary>A started PDP: its app, the port it actually listens on, and a way to stop it gracefully.</summary>
public sealed class RunningPdp : IAsyncDisposable
{
    internal RunningPdp(WebApplication app)
    {
        App = app;
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        Address = addresses.FirstOrDefault() ?? throw new InvalidOperationException("the PDP has no listen address");
        Port = new Uri(Address).Port;
    }

    /// <summary>The running app (its <see cref="WebApplication.Services"/> give access to the engine and log).</summary>
    public WebApplication App { get; }

    /// <summary>The bound address, e.g. <c>http://127.0.0.1:43215</c>.</summary>
    public string Address { get; }

    /// <summary>The bound TCP port.</summary>
    public int Port { get; }

    /// <summary>Stops accepting calls, lets in-flight Checks finish, flushes the decision log.</summary>
    public async ValueTask DisposeAsync()
    {
        await App.StopAsync().ConfigureAwait(false);
        await App.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>Starts the decision log with the host and flushes every pending record when the host stops.</summary>
internal sealed class DecisionLogLifetime(IDecisionLog log, ILogger<DecisionLogLifetime> logger) : IHostedService
{
    private int _stopped;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (log is PostgresDecisionLog pg) await pg.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // The host may be stopped twice (signal, then dispose); one flush is enough.
        if (Interlocked.Exchange(ref _stopped, 1) == 1) return;
        try
        {
            await log.FlushAsync(cancellationToken).ConfigureAwait(false);
            logger.LogInformation("Decision log flushed");
        }
        catch (Exception e)
        {
            logger.LogError("Decision log flush at shutdown failed: {Error}", e.Message);
        }
    }
}

/// <summary>Refreshes an OPA engine's readiness every few seconds (drives gRPC health).</summary>
internal sealed class OpaHealthPoller(OpaPolicyEngine engine, ILogger<OpaHealthPoller> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var wasReady = false;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(2));
        do
        {
            var ready = await engine.RefreshHealthAsync(stoppingToken).ConfigureAwait(false);
            if (ready != wasReady) logger.LogInformation("OPA server is {State}", ready ? "ready" : "not ready");
            wasReady = ready;
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }
}
