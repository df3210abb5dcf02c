using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Pdp.Service;

/// <summary>
/// The PDP's own metrics, on the <see cref="Meter"/> named <c>PolicyPoint.Pdp</c> (read them with
/// <c>dotnet-counters monitor --counters PolicyPoint.Pdp -p PID</c>, or any OpenTelemetry metrics exporter):
/// <list type="bullet">
/// <item><c>pdp.check.decide.duration</c> (histogram, seconds): from the start of a decision to its record being
/// ready: session history, input document, policy evaluation, record.</item>
/// <item><c>pdp.decision_log.append.duration</c> (histogram, seconds): how long the answer then waits for the
/// record to be durable (the commit, or the spool's fsync in journal mode).</item>
/// <item><c>pdp.decisions</c> (counter): decisions made, tagged <c>decision</c> = allow, deny, require_approval,
/// invalid or audit_unavailable.</item>
/// </list>
/// Recording costs nanoseconds when nothing listens.
/// </summary>
public static class PdpMetrics
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "PolicyPoint.Pdp";

    private static readonly Meter Meter = new(MeterName);

    internal static readonly Histogram<double> DecideDuration = Meter.CreateHistogram<double>(
        "pdp.check.decide.duration", unit: "s", description: "Time to decide a Check and build its record");

    internal static readonly Histogram<double> AppendDuration = Meter.CreateHistogram<double>(
        "pdp.decision_log.append.duration", unit: "s", description: "Time an answer waits for its record to be durable");

    internal static readonly Counter<long> Decisions = Meter.CreateCounter<long>(
        "pdp.decisions", unit: "{decision}", description: "Decisions made, by outcome");

    /// <summary>Seconds since <paramref name="startTimestamp"/> (a <see cref="Stopwatch.GetTimestamp"/> value).</summary>
    internal static double SecondsSince(long startTimestamp) => Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds;
}
