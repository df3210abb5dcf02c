using System.Collections.Concurrent;
using Pdp.DecisionLog;
using Pdp.Rego.Values;

namespace Pdp.Service;

/// <summary>One earlier decision of a session as policies see it in <c>input.session.history</c>.</summary>
public sealed record SessionEvent(
    string DecisionId, string Tool, string? Server, string? ResourceType, string? ResourceId, string? ResourceSensitivity,
    string Decision, IReadOnlyList<string> Labels, DateTimeOffset Time)
{
    private byte[]? _utf8;
    private string? _time;
    private Pdp.Rego.Values.Value? _value;

    /// <summary>This entry as canonical JSON, as it appears in <c>input.session.history</c> (from <see cref="Utf8"/>; not kept).</summary>
    public string Json => System.Text.Encoding.UTF8.GetString(Utf8);

    /// <summary>
    /// This entry as canonical UTF-8 JSON (computed once; hashed into every later input of the session):
    /// <c>{"decision","decision_id","labels":[...],"resource":{"id","sensitivity","type"},"server","time","tool"}</c>,
    /// absent strings as "", written field by field in sorted key order with the canonical writer's escaping.
    /// </summary>
    internal byte[] Utf8 => _utf8 ??= JsonUtil.CanonicalUtf8(w =>
    {
        // Keys in ordinal order, as the canonical writer sorts them.
        w.WriteStartObject();
        w.WriteString("decision", Decision);
        w.WriteString("decision_id", DecisionId);
        w.WriteStartArray("labels");
        foreach (var l in Labels) w.WriteStringValue(l);
        w.WriteEndArray();
        w.WriteStartObject("resource");
        w.WriteString("id", ResourceId ?? "");
        w.WriteString("sensitivity", ResourceSensitivity ?? "");
        w.WriteString("type", ResourceType ?? "");
        w.WriteEndObject();
        w.WriteString("server", Server ?? "");
        w.WriteString("time", TimeText);
        w.WriteString("tool", Tool);
        w.WriteEndObject();
    });

    /// <summary>This entry as a Rego value (built once from the fields; immutable, so shared by every later input).</summary>
    internal Pdp.Rego.Values.Value RegoValue => _value ??= BuildValue();

    private string TimeText => _time ??= InputBuilder.Rfc3339(Time);

    // Every event lives as long as its session keeps it (seconds under load): long enough to be promoted through the
    // GC's generations, so its objects are a large part of what each collection copies. The keys, and the values
    // that repeat from event to event (decision, tool, server, resource type and sensitivity, labels), are therefore
    // shared rather than allocated per event.
    private static readonly StringValue KeyDecision = new("decision"), KeyDecisionId = new("decision_id"),
        KeyLabels = new("labels"), KeyResource = new("resource"), KeyServer = new("server"), KeyTime = new("time"),
        KeyTool = new("tool"), KeyId = new("id"), KeySensitivity = new("sensitivity"), KeyType = new("type");
    private static readonly ConcurrentDictionary<string, StringValue> Common = new(StringComparer.Ordinal);
    private const int CommonCapacity = 4096, CommonMaxLength = 128;
    private static int _commonCount;   // entries added to Common (its own Count would take every lock)

    // The shared value of a string that recurs across events; a bounded cache, so odd values (and a flood of them)
    // just get their own object.
    private static StringValue Shared(string s)
    {
        if (s.Length > CommonMaxLength) return new StringValue(s);
        if (Common.TryGetValue(s, out var v)) return v;
        v = new StringValue(s);
        if (Volatile.Read(ref _commonCount) < CommonCapacity && Common.TryAdd(s, v)) Interlocked.Increment(ref _commonCount);
        return v;
    }

    private Pdp.Rego.Values.Value BuildValue()
    {
        var labels = ArrayValue.Empty;
        if (Labels.Count > 0)
        {
            var items = new Pdp.Rego.Values.Value[Labels.Count];
            for (var i = 0; i < items.Length; i++) items[i] = Shared(Labels[i]);
            labels = new ArrayValue(items);
        }
        var resource = new ObjectValue.Builder(3)
            .Set(KeyId, new StringValue(ResourceId ?? ""))
            .Set(KeySensitivity, Shared(ResourceSensitivity ?? ""))
            .Set(KeyType, Shared(ResourceType ?? ""))
            .Build();
        return new ObjectValue.Builder(7)
            .Set(KeyDecision, Shared(Decision))
            .Set(KeyDecisionId, new StringValue(DecisionId))
            .Set(KeyLabels, labels)
            .Set(KeyResource, resource)
            .Set(KeyServer, Shared(Server ?? ""))
            .Set(KeyTime, new StringValue(TimeText))
            .Set(KeyTool, Shared(Tool))
            .Build();
    }

    /// <summary>The event of a logged decision.</summary>
    public static SessionEvent From(DecisionRecord r) =>
        new(r.DecisionId, r.Tool, r.Server, r.ResourceType, r.ResourceId, r.ResourceSensitivity, r.Decision, r.Labels, r.DecidedAt);
}

/// <summary>
/// The PDP's own memory of each session's earlier decisions, bounded in sessions and in events per session.
/// A miss is filled from the decision log (<see cref="IDecisionLog.GetSessionAsync"/>), once per session even under
/// concurrent Checks; new decisions are appended after they are durable. Never filled from what callers send.
/// </summary>
public sealed class SessionHistoryCache
{
    private sealed class Entry(Task<List<SessionEvent>> loading)
    {
        public readonly Task<List<SessionEvent>> Loading = loading;
        public long LastTouch = Environment.TickCount64;
    }

    private readonly IDecisionLog _log;
    private readonly ConcurrentDictionary<string, Entry> _sessions = new(StringComparer.Ordinal);
    private readonly int _maxSessions;
    private readonly int _maxEvents;
    private int _evicting;

    /// <param name="log">Source of history on a miss.</param>
    /// <param name="maxSessions">Sessions kept (least recently used are dropped beyond it); default 10 000.</param>
    /// <param name="maxEventsPerSession">Newest events kept per session; default 64.</param>
    public SessionHistoryCache(IDecisionLog log, int maxSessions = 10_000, int maxEventsPerSession = 64)
    {
        _log = log;
        _maxSessions = Math.Max(1, maxSessions);
        _maxEvents = Math.Max(1, maxEventsPerSession);
    }

    /// <summary>Number of sessions cached now.</summary>
    public int Count => _sessions.Count;

    /// <summary>
    /// The session's history, oldest first (a snapshot). Throws whatever the decision log throws when the history
    /// cannot be loaded; the failed load is forgotten so the next call retries.
    /// </summary>
    public async ValueTask<IReadOnlyList<SessionEvent>> GetAsync(string sessionId, CancellationToken cancellationToken)
    {
        var entry = _sessions.GetOrAdd(sessionId, id => new Entry(LoadAsync(id)));
        entry.LastTouch = Environment.TickCount64;
        if (_sessions.Count > _maxSessions) Evict();
        List<SessionEvent> events;
        try
        {
            events = await entry.Loading.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (entry.Loading.IsFaulted || entry.Loading.IsCanceled)
        {
            _sessions.TryRemove(KeyValuePair.Create(sessionId, entry));
            throw;
        }
        lock (events) return events.ToArray();
    }

    /// <summary>Appends a durable decision to its session's history, if the session is cached.</summary>
    public void Add(string sessionId, SessionEvent ev)
    {
        if (!_sessions.TryGetValue(sessionId, out var entry) || !entry.Loading.IsCompletedSuccessfully) return;
        var events = entry.Loading.Result;
        lock (events)
        {
            // The load may already hold it when it raced with this decision's commit.
            // Compared by time first, which reads no id strings (a profile showed this scan over 64 events at ~2% of
            // the PDP's CPU when it compared ids). The same record read back from the log has its time truncated to
            // microseconds (PostgreSQL precision), so times within 1 µs are candidates.
            var ticks = ev.Time.UtcTicks;
            for (var i = events.Count - 1; i >= 0; i--)
                if (Math.Abs(events[i].Time.UtcTicks - ticks) < 10 && events[i].DecisionId == ev.DecisionId) return;
            events.Add(ev);
            if (events.Count > _maxEvents) events.RemoveRange(0, events.Count - _maxEvents);
        }
    }

    private async Task<List<SessionEvent>> LoadAsync(string sessionId)
    {
        await Task.Yield();
        var records = await _log.GetSessionAsync(sessionId, _maxEvents).ConfigureAwait(false);
        return records.Where(r => r.Decision != "invalid").Select(SessionEvent.From).ToList();
    }

    // Drops the least recently used tenth in one pass, so the O(n) scan is paid once per many inserts.
    private void Evict()
    {
        if (Interlocked.Exchange(ref _evicting, 1) == 1) return;
        try
        {
            var excess = _sessions.Count - _maxSessions + Math.Max(1, _maxSessions / 10);
            if (excess <= 0) return;
            foreach (var (key, _) in _sessions.OrderBy(p => p.Value.LastTouch).Take(excess).ToList())
                _sessions.TryRemove(key, out _);
        }
        finally
        {
            Volatile.Write(ref _evicting, 0);
        }
    }
}
