using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;
using PolicyPoint.V1;

namespace Pdp.Client;

/// <summary>
/// Resilient, fail-closed client of the PDP's gRPC API (<c>policypoint.v1</c>). One instance per process is enough:
/// it is thread-safe and holds one HTTP/2 channel. Each call runs through a Polly pipeline:
/// total timeout → retry (UNAVAILABLE only, exponential back-off with jitter) → circuit breaker → one gRPC attempt
/// with its own deadline.
/// </summary>
public sealed class PdpClient : IPdpClient, IDisposable
{
    private readonly AuthorizationService.AuthorizationServiceClient _authz;
    private readonly DecisionLogService.DecisionLogServiceClient _log;
    private readonly PdpClientOptions _options;
    private readonly ResiliencePipeline _pipeline;
    private readonly ILogger _logger;
    private readonly GrpcChannel? _ownedChannel;

    /// <summary>Creates a client that owns its channel to <see cref="PdpClientOptions.Address"/>.</summary>
    /// <exception cref="ArgumentException">The options are invalid (see <see cref="PdpClientOptions.Validate"/>).</exception>
    public PdpClient(PdpClientOptions options, ILogger<PdpClient>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _ownedChannel = GrpcChannel.ForAddress(options.Address!);
        _authz = new AuthorizationService.AuthorizationServiceClient(_ownedChannel);
        _log = new DecisionLogService.DecisionLogServiceClient(_ownedChannel);
        _options = options;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _pipeline = BuildPipeline(options);
    }

    /// <summary>Creates a client over existing gRPC clients (e.g. from Grpc.Net.ClientFactory); the channel is not owned.</summary>
    public PdpClient(AuthorizationService.AuthorizationServiceClient authorization, DecisionLogService.DecisionLogServiceClient decisionLog,
        PdpClientOptions options, ILogger<PdpClient>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(authorization);
        ArgumentNullException.ThrowIfNull(decisionLog);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _authz = authorization;
        _log = decisionLog;
        _options = options;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _pipeline = BuildPipeline(options);
    }

    private static bool IsUnavailable(Exception e) => e is RpcException { StatusCode: StatusCode.Unavailable };

    // Failures that mean "the PDP did not answer": they feed the breaker. A policy-level error (INVALID_ARGUMENT)
    // is an answer and must not open the circuit for everybody.
    private static bool IsNoAnswer(Exception e) =>
        e is RpcException { StatusCode: StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Internal or StatusCode.Unknown }
        || e is HttpRequestException || e is TimeoutRejectedException;

    internal static ResiliencePipeline BuildPipeline(PdpClientOptions o)
    {
        var builder = new ResiliencePipelineBuilder().AddTimeout(o.TotalTimeout);
        if (o.MaxRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<RpcException>(IsUnavailable),
                MaxRetryAttempts = o.MaxRetries,
                Delay = o.RetryBaseDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
            });
        }
        builder.AddCircuitBreaker(new CircuitBreakerStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<Exception>(IsNoAnswer),
            FailureRatio = o.BreakerFailureRatio,
            MinimumThroughput = o.BreakerMinimumThroughput,
            SamplingDuration = o.BreakerSamplingDuration,
            BreakDuration = o.BreakerBreakDuration,
        });
        return builder.Build();
    }

    /// <inheritdoc />
    public async Task<CheckResponse> CheckAsync(CheckRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        try
        {
            var response = await _pipeline.ExecuteAsync(async ct =>
            {
                var call = _authz.CheckAsync(request, deadline: DateTime.UtcNow + _options.AttemptTimeout, cancellationToken: ct);
                return await call.ResponseAsync.ConfigureAwait(false);
            }, cancellationToken).ConfigureAwait(false);
            if (response.Decision == Decision.Unspecified)
            {
                // Treat as DENY but keep the record's id so the log still links to it.
                var deny = response.Clone();
                deny.Decision = Decision.Deny;
                deny.Reasons.Add(new Reason { Code = PdpReasons.UnspecifiedDecision, Message = "the PDP returned DECISION_UNSPECIFIED; treated as DENY", Rule = "pep.fail_closed" });
                return deny;
            }
            return response;
        }
        catch (Exception e) when (cancellationToken.IsCancellationRequested)
        {
            // The caller gave up (gRPC reports it as RpcException CANCELLED): that is not a decision, so surface it.
            throw new OperationCanceledException("the caller cancelled the PDP check", e, cancellationToken);
        }
        catch (RpcException e) when (!IsNoAnswer(e))
        {
            _logger.LogWarning("PDP rejected Check for tool {Tool}: {Status} {Detail}", request.Tool?.Name, e.StatusCode, e.Status.Detail);
            return PdpReasons.LocalDeny(PdpReasons.PdpError, $"the PDP rejected the request: {e.StatusCode}: {e.Status.Detail}");
        }
        catch (Exception e)
        {
            // Transport failure, deadline, open circuit, total timeout: no answer means DENY.
            _logger.LogWarning("PDP unavailable for tool {Tool}: {Error}", request.Tool?.Name, e.Message);
            return PdpReasons.LocalDeny(PdpReasons.PdpUnavailable, $"no answer from the PDP at {_options.Address}: {Describe(e)}");
        }
    }

    private static string Describe(Exception e) => e switch
    {
        BrokenCircuitException => "circuit open after repeated failures",
        TimeoutRejectedException => "total timeout exceeded",
        RpcException r => $"{r.StatusCode}: {r.Status.Detail}",
        _ => e.GetType().Name + ": " + e.Message,
    };

    /// <inheritdoc />
    public async Task<bool> ReportOutcomeAsync(string decisionId, string status, string? detail = null, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrEmpty(decisionId) || string.IsNullOrEmpty(status)) return false;
        try
        {
            await _pipeline.ExecuteAsync(async ct =>
            {
                var call = _log.ReportOutcomeAsync(new ReportOutcomeRequest { DecisionId = decisionId, Status = status, Detail = detail ?? "" },
                    deadline: DateTime.UtcNow + _options.AttemptTimeout, cancellationToken: ct);
                await call.ResponseAsync.ConfigureAwait(false);
            }, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            _logger.LogWarning("ReportOutcome({DecisionId}, {Status}) failed: {Error}", decisionId, status, e.Message);
            return false;
        }
    }

    /// <summary>Disposes the channel if this instance created it.</summary>
    public void Dispose() => _ownedChannel?.Dispose();
}
