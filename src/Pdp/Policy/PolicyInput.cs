using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Pdp.Service;
using RegoValue = Pdp.Rego.Values.Value;
using Pdp.Rego.Values;

namespace Pdp.Policy;

/// <summary>
/// One Rego input document, in the three forms the Check path needs, each computed at most once: the Rego value
/// the embedded engine evaluates, the canonical JSON text (sorted keys; sent to an OPA server) and that text's
/// SHA-256 (stored in the decision record). The session history is kept as <see cref="SessionEvent"/>s, each of
/// which caches its own canonical UTF-8 JSON and Rego value, so a long history is neither rebuilt, re-serialized
/// nor re-parsed on every Check: the hash is fed the cached bytes, and the Rego value shares the cached values.
/// </summary>
public sealed class PolicyInput
{
    // Written in place of session.history in the canonical base text. Canonical JSON never holds a raw control
    // byte (they are escaped inside strings), so its one occurrence marks the splice point unambiguously.
    private const byte Sentinel = 0x01;

    private readonly JsonObject _document;
    private readonly IReadOnlyList<SessionEvent> _history;
    private bool _historyMaterialized;
    private byte[]? _base;      // canonical UTF-8 of the document, history replaced by the sentinel (if a session)
    private int _splice = -1;   // index of the sentinel in _base, or -1 when the document has no session
    private string? _json;
    private string? _hash;
    private RegoValue? _value;

    /// <param name="document">The input document; when <paramref name="history"/> is given, without <c>session.history</c>.</param>
    /// <param name="history">The session's earlier decisions, oldest first (placed at <c>session.history</c>).</param>
    public PolicyInput(JsonObject document, IReadOnlyList<SessionEvent>? history = null)
    {
        _document = document ?? throw new ArgumentNullException(nameof(document));
        _history = history ?? [];
        _historyMaterialized = _history.Count == 0;
    }

    /// <summary>The full input document as nodes (the history is added on first access). Read-only by convention.</summary>
    public JsonObject Document
    {
        get
        {
            if (!_historyMaterialized && _document["session"] is JsonObject session)
            {
                session["history"] = new JsonArray(_history.Select(h => JsonNode.Parse(h.Json)).ToArray());
                _historyMaterialized = true;
            }
            return _document;
        }
    }

    /// <summary>The document without materializing the history (for the PDP's own reads of request fields).</summary>
    internal JsonObject Base => _document;

    /// <summary>Canonical JSON text of the full document.</summary>
    public string Json
    {
        get
        {
            if (_json is not null) return _json;
            var b = BaseUtf8();
            if (_splice < 0) return _json = Encoding.UTF8.GetString(b);
            var sb = new StringBuilder(b.Length + 256 * _history.Count);
            sb.Append(Encoding.UTF8.GetString(b, 0, _splice)).Append('[');
            for (int i = 0; i < _history.Count; i++)
            {
                if (i > 0) sb.Append(',');
                sb.Append(_history[i].Json);
            }
            sb.Append(']').Append(Encoding.UTF8.GetString(b, _splice + 1, b.Length - _splice - 1));
            return _json = sb.ToString();
        }
    }

    /// <summary>Lower-case hex SHA-256 of <see cref="Json"/> (UTF-8), computed without building the text.</summary>
    public string Hash
    {
        get
        {
            if (_hash is not null) return _hash;
            var b = BaseUtf8();
            if (_splice < 0) return _hash = Convert.ToHexStringLower(SHA256.HashData(b));
            // One contiguous buffer and one hash call: appending each event separately costs a native call per
            // event, which for a 64-event history took longer than hashing the bytes.
            var length = b.Length + 1 + _history.Count;
            for (int i = 0; i < _history.Count; i++) length += _history[i].Utf8.Length;
            var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(length);
            try
            {
                var span = buffer.AsSpan();
                b.AsSpan(0, _splice).CopyTo(span);
                var at = _splice;
                span[at++] = (byte)'[';
                for (int i = 0; i < _history.Count; i++)
                {
                    if (i > 0) span[at++] = (byte)',';
                    _history[i].Utf8.CopyTo(span[at..]);
                    at += _history[i].Utf8.Length;
                }
                span[at++] = (byte)']';
                b.AsSpan(_splice + 1).CopyTo(span[at..]);
                at += b.Length - _splice - 1;
                return _hash = Convert.ToHexStringLower(SHA256.HashData(span[..at]));
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    /// <summary>
    /// The full document as a Rego value, equal to parsing <see cref="Json"/>: the base is converted from its nodes
    /// (no JSON text written and re-read; numbers alone go through their JSON text so they stay exactly as parsed),
    /// the history array is assembled from the events' cached values. Throws
    /// <see cref="System.Text.Json.JsonException"/> only if the document holds a number JSON cannot express (it never
    /// does when built by <see cref="InputBuilder"/>).
    /// </summary>
    public RegoValue RegoValue
    {
        get
        {
            if (_value is not null) return _value;
            var session = _document["session"] as JsonObject;
            ArrayValue? history = null;
            if (session is not null)
            {
                var items = new RegoValue[_history.Count];
                for (int i = 0; i < items.Length; i++) items[i] = _history[i].RegoValue;
                history = new ArrayValue(items);
            }
            return _value = ToValue(_document, session, history);
        }
    }

    // Same value as Value.FromJson of the node's canonical text (objects sort their keys themselves), except that
    // session["history"] is set to history (the node itself holds an empty placeholder or the same events).
    private static RegoValue ToValue(JsonNode? node, JsonObject? session = null, ArrayValue? history = null)
    {
        switch (node)
        {
            case null: return RegoValue.Null;
            case JsonObject o:
                var b = new ObjectValue.Builder(o.Count);
                var isSession = ReferenceEquals(o, session);
                for (var i = 0; i < o.Count; i++)   // GetAt: no boxed enumerator per object
                {
                    var p = o.GetAt(i);
                    b.Set(p.Key, isSession && p.Key == "history" ? history! : ToValue(p.Value, session, history));
                }
                if (isSession && !o.ContainsKey("history")) b.Set("history", history!);
                return b.Build();
            case JsonArray a:
                var items = new RegoValue[a.Count];
                for (int i = 0; i < items.Length; i++) items[i] = ToValue(a[i], session, history);
                return new ArrayValue(items);
            case JsonValue v:
                return v.GetValueKind() switch
                {
                    System.Text.Json.JsonValueKind.String => RegoValue.String(v.GetValue<string>()),
                    System.Text.Json.JsonValueKind.True => RegoValue.True,
                    System.Text.Json.JsonValueKind.False => RegoValue.False,
                    System.Text.Json.JsonValueKind.Null => RegoValue.Null,
                    // Integers (timestamps, most arguments) directly; anything else as its text parses.
                    _ => v.TryGetValue<long>(out var l) ? RegoValue.Number(l) : RegoValue.FromJson(v.ToJsonString()),
                };
            default:
                return RegoValue.FromJson(node.ToJsonString());
        }
    }

    /// <summary>Number of history entries.</summary>
    public int HistoryCount => _history.Count;

    private byte[] BaseUtf8()
    {
        if (_base is not null) return _base;
        Dictionary<(JsonObject, string), string?>? subs = null;
        if (_document["session"] is JsonObject session) subs = new() { [(session, "history")] = "\u0001" };
        var b = JsonUtil.CanonicalUtf8(_document, subs);
        _splice = subs is null ? -1 : Array.IndexOf(b, Sentinel);
        return _base = b;
    }
}
