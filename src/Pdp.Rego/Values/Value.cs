using System.Text;
using System.Text.Json;

namespace Pdp.Rego.Values;

/// <summary>The kinds of Rego values, numbered in OPA's total order (null &lt; boolean &lt; number &lt; string &lt; array &lt; object &lt; set).</summary>
public enum ValueKind
{
    Null = 0,
    Boolean = 1,
    Number = 2,
    String = 3,
    Array = 6,
    Object = 7,
    Set = 8,
}

/// <summary>
/// An immutable Rego value. Equality and ordering follow OPA (<c>ast.Compare</c>): kinds order as
/// <see cref="ValueKind"/>, numbers compare by value (<c>1 == 1.0</c>), strings by ordinal, arrays element-wise then
/// by length, objects by sorted keys then values, sets by sorted elements. Safe to share across threads.
/// </summary>
public abstract class Value : IEquatable<Value>, IComparable<Value>
{
    private protected Value() { }

    /// <summary>The value's kind.</summary>
    public abstract ValueKind Kind { get; }

    /// <summary>OPA's type name: <c>null boolean number string array object set</c> (as <c>type_name</c> returns).</summary>
    public string TypeName => Kind switch
    {
        ValueKind.Null => "null",
        ValueKind.Boolean => "boolean",
        ValueKind.Number => "number",
        ValueKind.String => "string",
        ValueKind.Array => "array",
        ValueKind.Object => "object",
        _ => "set",
    };

    /// <summary><c>null</c></summary>
    public static NullValue Null => NullValue.Instance;
    /// <summary><c>true</c></summary>
    public static BooleanValue True => BooleanValue.TrueValue;
    /// <summary><c>false</c></summary>
    public static BooleanValue False => BooleanValue.FalseValue;
    /// <summary>The shared boolean value.</summary>
    public static BooleanValue Bool(bool b) => b ? BooleanValue.TrueValue : BooleanValue.FalseValue;
    /// <summary>A string value.</summary>
    public static StringValue String(string s) => new(s);
    /// <summary>An integer value.</summary>
    public static NumberValue Number(long n) => NumberValue.FromInt64(n);
    /// <summary>A floating-point value (integral doubles stay doubles but compare equal to integers).</summary>
    public static NumberValue Number(double d) => NumberValue.FromDouble(d);

    /// <summary>Equality as OPA's <c>==</c> (numbers by value).</summary>
    public abstract bool Equals(Value? other);
    /// <summary>Hash consistent with <see cref="Equals(Value?)"/> (<c>1</c> and <c>1.0</c> hash alike).</summary>
    public abstract override int GetHashCode();
    public sealed override bool Equals(object? obj) => obj is Value v && Equals(v);

    /// <summary>OPA's total order; see the class remarks.</summary>
    public int CompareTo(Value? other)
    {
        if (other is null) return 1;
        if (ReferenceEquals(this, other)) return 0;
        var k = Kind;
        var ok = other.Kind;
        if (k != ok) return ((int)k).CompareTo((int)ok);
        return CompareSameKind(other);
    }

    /// <summary>Compares with a value of the same kind.</summary>
    private protected abstract int CompareSameKind(Value other);

    public static bool operator ==(Value? a, Value? b) => a is null ? b is null : a.Equals(b);
    public static bool operator !=(Value? a, Value? b) => !(a == b);

    // ------------------------------------------------------------------ JSON

    /// <summary>Parses JSON text into a value (objects, arrays, strings, numbers exactly, booleans, null).
    /// Throws <see cref="JsonException"/> on malformed JSON.</summary>
    public static Value FromJson(string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        return FromJson(bytes);
    }

    /// <summary>Parses UTF-8 JSON into a value. Throws <see cref="JsonException"/> on malformed JSON.</summary>
    public static Value FromJson(ReadOnlySpan<byte> utf8Json)
    {
        var reader = new Utf8JsonReader(utf8Json, new JsonReaderOptions { MaxDepth = 1000, CommentHandling = JsonCommentHandling.Skip });
        if (!reader.Read()) throw new JsonException("empty JSON document");
        var v = ReadJson(ref reader);
        if (reader.Read()) throw new JsonException("trailing data after JSON value");
        return v;
    }

    /// <summary>Converts a parsed JSON element into a value.</summary>
    public static Value FromJsonElement(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Null or JsonValueKind.Undefined => Null,
        JsonValueKind.True => True,
        JsonValueKind.False => False,
        JsonValueKind.String => new StringValue(element.GetString()!),
        JsonValueKind.Number => NumberValue.Parse(element.GetRawText()),
        JsonValueKind.Array => new ArrayValue(element.EnumerateArray().Select(FromJsonElement).ToArray()),
        _ => ObjectValue.FromPairs(element.EnumerateObject().Select(p => new KeyValuePair<Value, Value>(new StringValue(p.Name), FromJsonElement(p.Value)))),
    };

    private static Value ReadJson(ref Utf8JsonReader reader)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Null: return Null;
            case JsonTokenType.True: return True;
            case JsonTokenType.False: return False;
            case JsonTokenType.String: return new StringValue(reader.GetString()!);
            case JsonTokenType.Number:
                return NumberValue.Parse(Encoding.UTF8.GetString(reader.HasValueSequence ? System.Buffers.BuffersExtensions.ToArray(reader.ValueSequence) : reader.ValueSpan));
            case JsonTokenType.StartArray:
            {
                var items = new List<Value>();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray) items.Add(ReadJson(ref reader));
                return new ArrayValue(items.ToArray());
            }
            case JsonTokenType.StartObject:
            {
                var b = new ObjectValue.Builder();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
                {
                    var key = reader.GetString()!;
                    reader.Read();
                    b.Set(new StringValue(key), ReadJson(ref reader));
                }
                return b.Build();
            }
            default: throw new JsonException($"unexpected JSON token {reader.TokenType}");
        }
    }

    /// <summary>Canonical JSON: object keys sorted (OPA's order), sets as sorted arrays, non-string object keys
    /// written as their JSON text.</summary>
    public string ToJson()
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true }))
            WriteJson(w);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Writes the canonical JSON of this value (see <see cref="ToJson"/>).</summary>
    public abstract void WriteJson(Utf8JsonWriter writer);

    /// <summary>Rego literal syntax: <c>"s"</c>, <c>[1, 2]</c>, <c>{"a": 1}</c>, <c>{1, 2}</c>, <c>set()</c>.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        AppendRego(sb);
        return sb.ToString();
    }

    /// <summary>Appends the Rego literal syntax of this value.</summary>
    public abstract void AppendRego(StringBuilder sb);

    internal static string JsonQuote(string s) => JsonSerializer.Serialize(s, QuoteOptions);
    private static readonly JsonSerializerOptions QuoteOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
}

/// <summary><c>null</c></summary>
public sealed class NullValue : Value
{
    internal static readonly NullValue Instance = new();
    private NullValue() { }
    public override ValueKind Kind => ValueKind.Null;
    public override bool Equals(Value? other) => other is NullValue;
    public override int GetHashCode() => 0x6e756c6c;
    private protected override int CompareSameKind(Value other) => 0;
    public override void WriteJson(Utf8JsonWriter writer) => writer.WriteNullValue();
    public override void AppendRego(StringBuilder sb) => sb.Append("null");
}

/// <summary><c>true</c> or <c>false</c>; use <see cref="Value.Bool"/>.</summary>
public sealed class BooleanValue : Value
{
    internal static readonly BooleanValue TrueValue = new(true);
    internal static readonly BooleanValue FalseValue = new(false);
    private BooleanValue(bool value) => Value = value;
    /// <summary>The boolean.</summary>
    public bool Value { get; }
    public override ValueKind Kind => ValueKind.Boolean;
    public override bool Equals(Value? other) => other is BooleanValue b && b.Value == Value;
    public override int GetHashCode() => Value ? 1 : 2;
    private protected override int CompareSameKind(Value other) => Value.CompareTo(((BooleanValue)other).Value);
    public override void WriteJson(Utf8JsonWriter writer) => writer.WriteBooleanValue(Value);
    public override void AppendRego(StringBuilder sb) => sb.Append(Value ? "true" : "false");
}

/// <summary>A string (UTF-16 here; compared ordinally).</summary>
public sealed class StringValue : Value
{
    /// <summary>Wraps <paramref name="value"/>.</summary>
    public StringValue(string value) => Value = value ?? throw new ArgumentNullException(nameof(value));
    /// <summary>The string.</summary>
    public string Value { get; }
    /// <summary>The empty string.</summary>
    public static StringValue Empty { get; } = new("");
    public override ValueKind Kind => ValueKind.String;
    public override bool Equals(Value? other) => other is StringValue s && string.Equals(s.Value, Value, StringComparison.Ordinal);
    public override int GetHashCode() => string.GetHashCode(Value, StringComparison.Ordinal);
    private protected override int CompareSameKind(Value other) => string.CompareOrdinal(Value, ((StringValue)other).Value);
    public override void WriteJson(Utf8JsonWriter writer) => writer.WriteStringValue(Value);
    public override void AppendRego(StringBuilder sb) => sb.Append(JsonQuote(Value));
    public static implicit operator StringValue(string s) => new(s);
}
