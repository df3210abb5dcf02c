using PolicyPoint.V1;

namespace Pdp.Client;

/// <summary>The PEP's view of the PDP. Implementations fail closed and never throw for transport failures.</summary>
public interface IPdpClient
{
    /// <summary>
    /// Asks the PDP whether a tool may run. Returns the PDP's answer, or — when no answer comes (PDP down, deadline
    /// exceeded, circuit open) — a DENY with reason <c>pdp_unavailable</c> and an empty <c>decision_id</c>.
    /// Throws only <see cref="ArgumentNullException"/> for a null request and <see cref="OperationCanceledException"/>
    /// when <paramref name="cancellationToken"/> is cancelled by the caller.
    /// </summary>
    Task<CheckResponse> CheckAsync(CheckRequest request, CancellationToken cancellationToken = default);

    /// <summary>
    /// Reports what happened after a decision (status e.g. <c>executed</c>, <c>failed</c>, <c>cancelled</c>).
    /// Returns true when the PDP acknowledged it, false otherwise (never throws for transport failures).
    /// </summary>
    Task<bool> ReportOutcomeAsync(string decisionId, string status, string? detail = null, CancellationToken cancellationToken = default);
}
