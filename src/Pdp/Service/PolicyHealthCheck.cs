using Microsoft.Extensions.Diagnostics.HealthChecks;
using Pdp.Policy;

namespace Pdp.Service;

/// <summary>Healthy once the policy engine has a policy to decide with: gRPC health answers NOT_SERVING until then.</summary>
public sealed class PolicyHealthCheck(IPolicyEngine engine) : IHealthCheck
{
    /// <inheritdoc />
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(engine.IsReady
            ? HealthCheckResult.Healthy($"policy revision {engine.Revision}")
            : HealthCheckResult.Unhealthy("no policy loaded"));
}
