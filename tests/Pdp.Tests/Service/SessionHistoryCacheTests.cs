using Pdp.DecisionLog;
using Pdp.Service;

namespace Pdp.Tests.Service;

/// <summary>The session history cache: an event already read back from the log is not added twice.</summary>
[TestFixture]
public sealed class SessionHistoryCacheTests
{
    private static DecisionRecord Record(string id, DateTimeOffset at) => new()
    {
        DecisionId = id, DecidedAt = at, SessionId = "s", Tool = "t", Decision = "allow", PolicyRevision = "r",
    };

    [Test]
    public async Task Event_already_loaded_with_microsecond_time_is_not_added_again()
    {
        var log = new InMemoryDecisionLog();
        var decidedAt = DateTimeOffset.UnixEpoch.AddTicks(1234567); // 123456.7 µs: the log keeps 123456 µs
        var id = Guid.CreateVersion7().ToString();
        // As stored: time truncated to microseconds (what a racing load reads back).
        await log.AppendAsync(DecisionChain.Normalize(Record(id, decidedAt)));
        var cache = new SessionHistoryCache(log);
        Assert.That(await cache.GetAsync("s", default), Has.Count.EqualTo(1));

        cache.Add("s", SessionEvent.From(Record(id, decidedAt)));                          // the same decision
        cache.Add("s", SessionEvent.From(Record(Guid.CreateVersion7().ToString(), decidedAt))); // another, same time

        var history = await cache.GetAsync("s", default);
        Assert.That(history.Select(h => h.DecisionId).Distinct().Count(), Is.EqualTo(2));
        Assert.That(history, Has.Count.EqualTo(2));
        Assert.That(history[0].DecisionId, Is.EqualTo(id));
    }

    [Test]
    public async Task History_keeps_the_newest_events_up_to_the_limit()
    {
        var cache = new SessionHistoryCache(new InMemoryDecisionLog(), maxSessions: 10, maxEventsPerSession: 3);
        Assert.That(await cache.GetAsync("s", default), Is.Empty);
        var ids = Enumerable.Range(0, 5).Select(_ => Guid.CreateVersion7().ToString()).ToList();
        for (var i = 0; i < ids.Count; i++) cache.Add("s", SessionEvent.From(Record(ids[i], DateTimeOffset.UnixEpoch.AddSeconds(i))));
        var history = await cache.GetAsync("s", default);
        Assert.That(history.Select(h => h.DecisionId), Is.EqualTo(ids.Skip(2)));
    }

    // The event's bytes (hashed into input_hash) and Rego value are built from its fields; they must be exactly what
    // the canonical writer gives for the history entry's nodes, and what parsing those bytes gives.
    [TestCase("srv", "file", "/tmp/a.txt", "internal", new[] { "sensitive", "pii" }, 1234567L)]
    [TestCase(null, null, null, null, new string[0], 0L)]
    [TestCase("s\"rv\\", "t\u0001y", "/päth/💡\n", "é", new[] { "<tag>&'" }, 999_999_999L)]
    // Values longer than the shared-value cache takes (128 chars) get objects of their own.
    [TestCase("a-server-name-of-200-chars-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "file", "/a", "internal", new[] { "sensitive" }, 5L)]
    public void Event_bytes_and_value_match_the_nodes_they_stand_for(string? server, string? type, string? id, string? sensitivity, string[] labels, long ticks)
    {
        var ev = new SessionEvent(Guid.CreateVersion7().ToString(), "tool\t1", server, type, id, sensitivity, "deny", labels,
            DateTimeOffset.UnixEpoch.AddDays(20_000).AddTicks(ticks));
        // The entry as JSON nodes, written by the general canonical writer: the reference the direct road must match.
        var entry = new System.Text.Json.Nodes.JsonObject
        {
            ["decision_id"] = ev.DecisionId,
            ["tool"] = ev.Tool,
            ["server"] = ev.Server ?? "",
            ["resource"] = new System.Text.Json.Nodes.JsonObject
            {
                ["type"] = ev.ResourceType ?? "", ["id"] = ev.ResourceId ?? "", ["sensitivity"] = ev.ResourceSensitivity ?? "",
            },
            ["decision"] = ev.Decision,
            ["labels"] = new System.Text.Json.Nodes.JsonArray(ev.Labels.Select(l => (System.Text.Json.Nodes.JsonNode?)l).ToArray()),
            ["time"] = InputBuilder.Rfc3339(ev.Time),
        };
        var expected = JsonUtil.Canonical(entry);
        Assert.That(System.Text.Encoding.UTF8.GetString(ev.Utf8), Is.EqualTo(expected));
        Assert.That(ev.Json, Is.EqualTo(expected));
        Assert.That(ev.RegoValue, Is.EqualTo(Pdp.Rego.Values.Value.FromJson(System.Text.Encoding.UTF8.GetBytes(expected))));
    }
}
