using System.Runtime.CompilerServices;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using PolicyPoint.V1;

namespace Pdp.Service;

/// <summary>
/// gRPC binding of <c>policypoint.v1.AuthorizationService</c>: every Check goes to <see cref="CheckProcessor"/>.
/// It binds its own method definition (same name and wire format as the generated one) so that a request the
/// protobuf parser refuses — nested past the parser's recursion limit, or malformed bytes — still reaches the
/// handler, is logged as <c>invalid</c> and answered INVALID_ARGUMENT instead of failing inside the framework.
/// </summary>
// Not derived from the generated AuthorizationServiceBase: Grpc.AspNetCore binds handler methods declared on the
// type that carries [BindServiceMethod], so Check is declared (virtual) here.
[BindServiceMethod(typeof(AuthorizationGrpcService), nameof(BindService))]
public class AuthorizationGrpcService(CheckProcessor processor, ILogger<AuthorizationGrpcService> logger)
{
    /// <summary>The service's descriptor (read by gRPC reflection from the binding type).</summary>
    public static Google.Protobuf.Reflection.ServiceDescriptor Descriptor => AuthorizationService.Descriptor;

    // Requests the parser could not read, mapped to the parser's complaint (the instance is a placeholder).
    private static readonly ConditionalWeakTable<CheckRequest, string> Unreadable = new();
    private static int _recursionLimit = 128;

    private static readonly Method<CheckRequest, CheckResponse> CheckMethod = new(
        MethodType.Unary, AuthorizationService.Descriptor.FullName, "Check",
        Marshallers.Create<CheckRequest>(r => r.ToByteArray(), ParseRequest),
        Marshallers.Create<CheckResponse>(r => r.ToByteArray(), CheckResponse.Parser.ParseFrom));

    /// <summary>
    /// Protobuf recursion limit for Check requests (process-wide; set from the nesting limit by <see cref="PdpHost"/>).
    /// Each level of Struct nesting costs three parser levels, so this is about 3× the nesting limit plus slack.
    /// </summary>
    public static int RecursionLimit
    {
        get => Volatile.Read(ref _recursionLimit);
        set => Volatile.Write(ref _recursionLimit, Math.Clamp(value, 16, 10_000));
    }

    /// <summary>Binds Check with this class's marshallers (called by Grpc.AspNetCore; <paramref name="service"/> is null there).</summary>
    public static void BindService(ServiceBinderBase binder, AuthorizationGrpcService? service) =>
        binder.AddMethod(CheckMethod, service is null ? null : service.Check);

    private static CheckRequest ParseRequest(byte[] bytes)
    {
        try
        {
            using var input = CodedInputStream.CreateWithLimits(new MemoryStream(bytes, writable: false), bytes.Length + 1, RecursionLimit);
            return CheckRequest.Parser.ParseFrom(input);
        }
        catch (InvalidProtocolBufferException e)
        {
            var placeholder = new CheckRequest();
            Unreadable.AddOrUpdate(placeholder, e.Message);
            return placeholder;
        }
    }

    /// <summary>Decides one tool call; INVALID_ARGUMENT for bad input, otherwise always a decision (DENY on any fault).</summary>
    public virtual async Task<CheckResponse> Check(CheckRequest request, ServerCallContext context)
    {
        try
        {
            if (Unreadable.TryGetValue(request, out var why))
            {
                var message = why.Contains("nesting", StringComparison.OrdinalIgnoreCase)
                    ? $"request is nested too deeply (protobuf recursion limit {RecursionLimit})"
                    : $"request is not a readable CheckRequest: {why}";
                await processor.RefuseAsync(request, new ValidationError("request", message)).ConfigureAwait(false);
                throw new RpcException(new Status(StatusCode.InvalidArgument, message));
            }
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
