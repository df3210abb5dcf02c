using System.Text.Json.Nodes;

namespace Pdp.Policy;

/// <summary>
/// The outcome of evaluating the decision entrypoint once. Exactly one of three shapes:
/// defined (<see cref="Result"/> set), undefined (<see cref="Defined"/> false, no error), or failed
/// (<see cref="Error"/> set). The caller turns anything but a defined decision object into DENY.
/// </summary>
/// <param name="Result">The entrypoint's value as JSON (an object for a well-formed policy), or null.</param>
/// <param name="Defined">False when the entrypoint is undefined for this input.</param>
/// <param name="Revision">Revision of the policy that evaluated (empty when none is loaded).</param>
/// <param name="Error">OPA-style error text (<c>code: message</c>) when evaluation failed, else null.</param>
/// <param name="EvalMicros">Wall time spent evaluating, in microseconds.</param>
public sealed record PolicyEvaluation(JsonNode? Result, bool Defined, string Revision, string? Error, long EvalMicros)
{
    /// <summary>A failed evaluation with <paramref name="error"/>.</summary>
    public static PolicyEvaluation Failed(string revision, string error, long micros) => new(null, false, revision, error, micros);
}

/// <summary>
/// A policy engine the PDP asks for decisions: the embedded Rego engine over a compiled bundle, or an OPA server's
/// Data API. Implementations are thread safe; <see cref="EvaluateAsync"/> never throws for policy problems (they come
/// back as <see cref="PolicyEvaluation.Error"/>), only <see cref="OperationCanceledException"/> on cancellation.
/// </summary>
public interface IPolicyEngine
{
    /// <summary>True once a policy is loaded and decisions can be made (drives gRPC health SERVING).</summary>
    bool IsReady { get; }

    /// <summary>Revision of the policy currently serving, or empty.</summary>
    string Revision { get; }

    /// <summary>Evaluates the configured entrypoint against <paramref name="input"/> (the Rego input document).</summary>
    /// <param name="input">The input document and its canonical JSON; not modified.</param>
    /// <param name="now">The request time, used for <c>time.now_ns</c> so it matches <c>input.request.time_ns</c>.</param>
    /// <param name="cancellationToken">Cancels a long evaluation.</param>
    ValueTask<PolicyEvaluation> EvaluateAsync(PolicyInput input, DateTimeOffset now, CancellationToken cancellationToken = default);
}
