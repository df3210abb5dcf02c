using Grpc.Core;
using Microsoft.Extensions.Logging;
using PolicyPoint.V1;

namespace Pdp.Service;

/// <summary>gRPC binding of <c>policypoint.v1.AuthorizationService</c>: every Check goes to <see cref="CheckProcessor"/>.</summary>
public sealed class AuthorizationGrpcService(CheckProcessor processor, ILogger<AuthorizationGrpcService> logger)
    : AuthorizationService.AuthorizationServiceBase
{
    /// <summary>Decides one tool call; INVALID_ARGUMENT for bad input, otherwise always a decision (DENY on any fault).</summary>
    public override async Task<CheckResponse> Check(CheckRequest request, ServerCallContext context)
    {
        try
        {
            return await processor.CheckAsync(request, context.CancellationToken).ConfigureAwait(false);
        }
        catch (RpcException) { throw; }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.Cancelled, "the caller cancelled the Check"));
        }
        catch (Exception e)
        {
            // A bug must not answer anything the PEP could take for permission; INTERNAL makes PEPs fail closed.
            logger.LogError(e, "Check failed unexpectedly");
            throw new RpcException(new Status(StatusCode.Internal, "internal error; the call is not authorized"));
        }
    }
}
