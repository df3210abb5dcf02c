using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PolicyPoint.V1;

namespace Pdp.Client;

/// <summary>DI registration of the PDP client.</summary>
public static class PolicyPointClientServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="IPdpClient"/> (a singleton <see cref="PdpClient"/>) with typed gRPC clients from
    /// Grpc.Net.ClientFactory. Example: <c>services.AddPolicyPointClient(o =&gt; o.Address = new Uri("http://127.0.0.1:50051"));</c>.
    /// Options are validated on first resolution (<see cref="ArgumentException"/> if invalid).
    /// </summary>
    public static IServiceCollection AddPolicyPointClient(this IServiceCollection services, Action<PdpClientOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<PdpClientOptions>().Configure(configure).Validate(o => { o.Validate(); return true; });
        services.AddGrpcClient<AuthorizationService.AuthorizationServiceClient>((sp, g) => g.Address = sp.GetRequiredService<IOptions<PdpClientOptions>>().Value.Address);
        services.AddGrpcClient<DecisionLogService.DecisionLogServiceClient>((sp, g) => g.Address = sp.GetRequiredService<IOptions<PdpClientOptions>>().Value.Address);
        services.TryAddSingleton<IPdpClient>(sp => new PdpClient(
            sp.GetRequiredService<AuthorizationService.AuthorizationServiceClient>(),
            sp.GetRequiredService<DecisionLogService.DecisionLogServiceClient>(),
            sp.GetRequiredService<IOptions<PdpClientOptions>>().Value,
            sp.GetService<ILogger<PdpClient>>()));
        return services;
    }
}
