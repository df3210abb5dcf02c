using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf.WellKnownTypes;

namespace Pdp.Service;

/// <summary>JSON helpers of the Check path: protobuf Struct ↔ JSON nodes and canonical JSON (sorted keys).</summary>
public static class JsonUtil
{
    private static readonly JsonWriterOptions WriterOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Indented = false,
        SkipValidation = true,
    };

    /// <summary>A protobuf Struct as a JSON object. Integral numbers within ±2^53 become JSON integers.</summary>
    public static JsonObject FromStruct(Struct s)
    {
        var obj = new JsonObject();
        foreach (var (k, v) in s.Fields) obj[k] = FromValue(v);
        return obj;
    }

    /// <summary>A protobuf Value as a JSON node (null for null_value or an unset kind).</summary>
    public static JsonNode? FromValue(Google.Protobuf.WellKnownTypes.Value? v)
    {
        if (v is null) return null;
        switch (v.KindCase)
        {
            case Google.Protobuf.WellKnownTypes.Value.KindOneofCase.BoolValue: return JsonValue.Create(v.BoolValue);
            case Google.Protobuf.WellKnownTypes.Value.KindOneofCase.StringValue: return JsonValue.Create(v.StringValue);
            case Google.Protobuf.WellKnownTypes.Value.KindOneofCase.NumberValue:
                var d = v.NumberValue;
                // Struct numbers are doubles; show whole ones as integers so policies compare them naturally.
                if (Math.Floor(d) == d && Math.Abs(d) <= 9007199254740992d) return JsonValue.Create((long)d);
                return JsonValue.Create(d);
            case Google.Protobuf.WellKnownTypes.Value.KindOneofCase.StructValue: return FromStruct(v.StructValue);
            case Google.Protobuf.WellKnownTypes.Value.KindOneofCase.ListValue:
                var arr = new JsonArray();
                foreach (var item in v.ListValue.Values) arr.Add(FromValue(item));
                return arr;
            default: return null;
        }
    }

    /// <summary>A string map as a JSON object.</summary>
    public static JsonObject FromMap(IEnumerable<KeyValuePair<string, string>> map)
    {
        var obj = new JsonObject();
        foreach (var (k, v) in map) obj[k] = v;
        return obj;
    }

    /// <summary>
    /// Canonical JSON text: object keys sorted by ordinal comparison, no whitespace, minimal escaping.
    /// Two equal documents always give the same text, so its hash identifies the document.
    /// </summary>
    public static string Canonical(JsonNode? node) => Canonical(node, null);

    /// <summary>
    /// <see cref="Canonical(JsonNode?)"/> with substitutions: for a listed (object, key), the given text is written
    /// as that member's value instead of what the object holds (added when absent), or the member is left out when
    /// the text is null. The text must already be canonical JSON. Lets a large pre-serialized part (the session
    /// history) be spliced in without building and sorting its nodes again.
    /// </summary>
    public static string Canonical(JsonNode? node, IReadOnlyDictionary<(JsonObject Host, string Key), string?>? substitutions)
    {
        var writer = BeginWrite();
        try
        {
            WriteCanonical(writer, node, Concrete(substitutions));
            writer.Flush();
            return Encoding.UTF8.GetString(t_buffer!.WrittenSpan);
        }
        finally { EndWrite(); }
    }

    /// <summary><see cref="Canonical(JsonNode?, IReadOnlyDictionary{ValueTuple{JsonObject, string}, string?}?)"/> as UTF-8 bytes.</summary>
    public static byte[] CanonicalUtf8(JsonNode? node, IReadOnlyDictionary<(JsonObject Host, string Key), string?>? substitutions) =>
        CanonicalUtf8(w => WriteCanonical(w, node, Concrete(substitutions)));

    // The writers walk a concrete Dictionary: enumerating it through the interface would box an enumerator for
    // every object written.
    internal static Dictionary<(JsonObject, string), string?>? Concrete(IReadOnlyDictionary<(JsonObject Host, string Key), string?>? subs) =>
        subs is null or { Count: 0 } ? null : subs as Dictionary<(JsonObject, string), string?> ?? new(subs);

    /// <summary>Ordinal string order as a cached delegate (a method group would allocate one per sort).</summary>
    internal static readonly Comparison<string> OrdinalOrder = string.CompareOrdinal;

    /// <summary>UTF-8 bytes of what <paramref name="write"/> writes with the canonical writer's settings (escaping,
    /// no whitespace); the caller writes object members in ordinal key order itself.</summary>
    public static byte[] CanonicalUtf8(Action<Utf8JsonWriter> write)
    {
        var writer = BeginWrite();
        try
        {
            write(writer);
            writer.Flush();
            return t_buffer!.WrittenSpan.ToArray();
        }
        finally { EndWrite(); }
    }

    // Several documents are written per Check: each thread reuses one buffer and writer instead of allocating them.
    [ThreadStatic] private static System.Buffers.ArrayBufferWriter<byte>? t_buffer;
    [ThreadStatic] private static Utf8JsonWriter? t_writer;

    private static Utf8JsonWriter BeginWrite()
    {
        var buffer = t_buffer ??= new System.Buffers.ArrayBufferWriter<byte>(4096);
        var writer = t_writer ??= new Utf8JsonWriter(buffer, WriterOptions);
        buffer.ResetWrittenCount();
        writer.Reset(buffer);
        return writer;
    }

    private static void EndWrite()
    {
        t_writer!.Reset(t_buffer!);
        t_buffer!.ResetWrittenCount();
        // Do not keep a large buffer alive on the thread after an unusually large document.
        if (t_buffer.Capacity > 1 << 20) { t_buffer = null; t_writer = null; }
    }

    /// <summary>Lower-case hex SHA-256 of <see cref="Canonical(JsonNode?)"/>.</summary>
    public static string CanonicalHash(JsonNode? node) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Canonical(node))));

    private static void WriteCanonical(Utf8JsonWriter w, JsonNode? node, Dictionary<(JsonObject, string), string?>? subs)
    {
        switch (node)
        {
            case null: w.WriteNullValue(); break;
            case JsonObject obj:
                w.WriteStartObject();
                // A pooled key array: several documents with ~10 objects each are written per Check.
                var keys = System.Buffers.ArrayPool<string>.Shared.Rent(obj.Count + (subs?.Count ?? 0) + 1);
                var count = 0;
                for (var i = 0; i < obj.Count; i++) keys[count++] = obj.GetAt(i).Key;   // GetAt: no boxed enumerator
                if (subs is not null)
                    foreach (var ((host, key), _) in subs)
                        if (ReferenceEquals(host, obj) && !obj.ContainsKey(key)) keys[count++] = key;
                if (count > 1) keys.AsSpan(0, count).Sort(OrdinalOrder);
                try
                {
                    for (int i = 0; i < count; i++)
                    {
                        var k = keys[i];
                        if (subs is not null && subs.TryGetValue((obj, k), out var raw))
                        {
                            if (raw is null) continue;
                            w.WritePropertyName(k);
                            w.WriteRawValue(raw, skipInputValidation: true);
                            continue;
                        }
                        w.WritePropertyName(k);
                        WriteCanonical(w, obj[k], subs);
                    }
                }
                finally
                {
                    Array.Clear(keys, 0, count);
                    System.Buffers.ArrayPool<string>.Shared.Return(keys);
                }
                w.WriteEndObject();
                break;
            case JsonArray arr:
                w.WriteStartArray();
                for (var i = 0; i < arr.Count; i++) WriteCanonical(w, arr[i], subs);
                w.WriteEndArray();
                break;
            default:
                node.WriteTo(w);
                break;
        }
    }

    /// <summary>A JSON object as a protobuf Struct (via the protobuf JSON parser); null for null input.</summary>
    public static Struct? ToStruct(string? json) =>
        string.IsNullOrEmpty(json) ? null : Google.Protobuf.JsonParser.Default.Parse<Struct>(json);

    /// <summary>
    /// A masked copy of a JSON value for the log: objects keep their keys, other values are replaced by their type
    /// and size (<c>"string(12)"</c>, <c>"number"</c>, <c>"bool"</c>, <c>"null"</c>, <c>"array(3)"</c>).
    /// </summary>
    public static JsonNode Mask(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject obj => new JsonObject(obj.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)Mask(p.Value)))),
        JsonArray arr => $"array({arr.Count})",
        JsonValue v when v.GetValueKind() == JsonValueKind.String => $"string({v.GetValue<string>().Length})",
        JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => "bool",
        _ => "number",
    };
}
