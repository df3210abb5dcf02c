using System.Text;
using System.Text.Json;

namespace Pdp.Rego.Values;

/// <summary>An array. The constructor takes ownership of the given array: do not change it afterwards.</summary>
public sealed class ArrayValue : Value
{
    private readonly Value[] _items;
    private int _hash;

    /// <summary>Wraps <paramref name="items"/> without copying.</summary>
    public ArrayValue(Value[] items) => _items = items;

    /// <summary>The empty array.</summary>
    public static ArrayValue Empty { get; } = new([]);

    /// <summary>Number of elements.</summary>
    public int Count => _items.Length;
    /// <summary>Element at <paramref name="index"/> (0-based).</summary>
    public Value this[int index] => _items[index];
    /// <summary>The elements.</summary>
    public ReadOnlySpan<Value> Span => _items;
    /// <summary>The elements as a list.</summary>
    public IReadOnlyList<Value> Items => _items;

    public override ValueKind Kind => ValueKind.Array;

    public override bool Equals(Value? other)
        => ReferenceEquals(this, other) || (other is ArrayValue a && Sequence.Equal(_items, a._items));

    public override int GetHashCode() => _hash != 0 ? _hash : (_hash = Sequence.Hash(ValueKind.Array, _items));

    private protected override int CompareSameKind(Value other) => Sequence.Compare(_items, ((ArrayValue)other)._items);

    public override void WriteJson(Utf8JsonWriter writer) => Sequence.WriteJson(writer, _items);

    public override void AppendRego(StringBuilder sb) => Sequence.AppendRego(sb, _items, '[', ']');
}

/// <summary>
/// An object: keys of any kind, held sorted in OPA's order (so iteration and output are deterministic), looked up
/// by binary search. Build with <see cref="Builder"/> or <see cref="FromPairs(IEnumerable{KeyValuePair{Value, Value}})"/>.
/// </summary>
public sealed class ObjectValue : Value
{
    private readonly KeyValuePair<Value, Value>[] _entries; // sorted by key, distinct keys
    private int _hash;

    private ObjectValue(KeyValuePair<Value, Value>[] sortedDistinct) => _entries = sortedDistinct;

    /// <summary>The empty object.</summary>
    public static ObjectValue Empty { get; } = new([]);

    /// <summary>Builds an object; for a repeated key the last value wins.</summary>
    public static ObjectValue FromPairs(IEnumerable<KeyValuePair<Value, Value>> pairs)
    {
        var b = new Builder();
        foreach (var p in pairs) b.Set(p.Key, p.Value);
        return b.Build();
    }

    /// <summary>Builds an object with string keys; for a repeated key the last value wins.</summary>
    public static ObjectValue FromPairs(params (string Key, Value Value)[] pairs)
    {
        var b = new Builder(pairs.Length);
        foreach (var (k, v) in pairs) b.Set(new StringValue(k), v);
        return b.Build();
    }

    /// <summary>An object of <paramref name="entries"/>, in any order (for a repeated key the later entry wins). Takes
    /// ownership of the array: the caller must not use it afterwards.</summary>
    internal static ObjectValue FromOwnedEntries(KeyValuePair<Value, Value>[] entries)
    {
        if (entries.Length == 0) return Empty;
        int n = Builder.SortDistinct(entries);
        return new ObjectValue(n == entries.Length ? entries : entries.AsSpan(0, n).ToArray());
    }

    /// <summary>Number of keys.</summary>
    public int Count => _entries.Length;
    /// <summary>Entries sorted by key.</summary>
    public ReadOnlySpan<KeyValuePair<Value, Value>> Entries => _entries;
    /// <summary>Keys, sorted.</summary>
    public IEnumerable<Value> Keys => _entries.Select(e => e.Key);
    /// <summary>Values, in key order.</summary>
    public IEnumerable<Value> Values => _entries.Select(e => e.Value);

    /// <summary>The value at <paramref name="key"/>, or null.</summary>
    public Value? this[Value key] => TryGetValue(key, out var v) ? v : null;
    /// <summary>The value at string key <paramref name="key"/>, or null.</summary>
    public Value? this[string key] => TryGetValue(key, out var v) ? v : null;

    /// <summary>Looks up <paramref name="key"/>.</summary>
    public bool TryGetValue(Value key, out Value value)
    {
        if (key is StringValue s) return TryGetValue(s.Value, out value);
        int lo = 0, hi = _entries.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            int c = _entries[mid].Key.CompareTo(key);
            if (c == 0) { value = _entries[mid].Value; return true; }
            if (c < 0) lo = mid + 1; else hi = mid - 1;
        }
        value = Null;
        return false;
    }

    /// <summary>Looks up a string key without allocating.</summary>
    public bool TryGetValue(string key, out Value value)
    {
        int lo = 0, hi = _entries.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            var k = _entries[mid].Key;
            int c;
            if (k is StringValue ks)
            {
                // Ordinal order is decided by the first differing char: most probes differ at the first one.
                var kv = ks.Value;
                c = kv.Length > 0 && key.Length > 0 && kv[0] != key[0] ? kv[0] - key[0] : string.CompareOrdinal(kv, key);
            }
            else c = ((int)k.Kind).CompareTo((int)ValueKind.String);
            if (c == 0) { value = _entries[mid].Value; return true; }
            if (c < 0) lo = mid + 1; else hi = mid - 1;
        }
        value = Null;
        return false;
    }

    /// <summary>True when <paramref name="key"/> is present.</summary>
    public bool ContainsKey(Value key) => TryGetValue(key, out _);

    /// <summary>A copy with <paramref name="key"/> set to <paramref name="value"/>.</summary>
    public ObjectValue With(Value key, Value value)
    {
        var b = new Builder(_entries.Length + 1);
        foreach (var e in _entries) b.Set(e.Key, e.Value);
        b.Set(key, value);
        return b.Build();
    }

    /// <summary>A copy without <paramref name="key"/>.</summary>
    public ObjectValue Without(Value key)
    {
        if (!ContainsKey(key)) return this;
        return new ObjectValue(_entries.Where(e => !e.Key.Equals(key)).ToArray());
    }

    public override ValueKind Kind => ValueKind.Object;

    public override bool Equals(Value? other)
    {
        if (ReferenceEquals(this, other)) return true;
        if (other is not ObjectValue o || o._entries.Length != _entries.Length) return false;
        for (int i = 0; i < _entries.Length; i++)
        {
            if (!_entries[i].Key.Equals(o._entries[i].Key) || !_entries[i].Value.Equals(o._entries[i].Value)) return false;
        }
        return true;
    }

    public override int GetHashCode()
    {
        if (_hash != 0) return _hash;
        var h = new HashCode();
        h.Add(ValueKind.Object);
        foreach (var e in _entries) { h.Add(e.Key.GetHashCode()); h.Add(e.Value.GetHashCode()); }
        var r = h.ToHashCode();
        _hash = r == 0 ? 1 : r;
        return _hash;
    }

    private protected override int CompareSameKind(Value other)
    {
        var b = ((ObjectValue)other)._entries;
        int n = Math.Min(_entries.Length, b.Length);
        for (int i = 0; i < n; i++)
        {
            int c = _entries[i].Key.CompareTo(b[i].Key);
            if (c != 0) return c;
            c = _entries[i].Value.CompareTo(b[i].Value);
            if (c != 0) return c;
        }
        return _entries.Length.CompareTo(b.Length);
    }

    public override void WriteJson(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        foreach (var e in _entries)
        {
            writer.WritePropertyName(e.Key is StringValue s ? s.Value : e.Key.ToJson());
            e.Value.WriteJson(writer);
        }
        writer.WriteEndObject();
    }

    public override void AppendRego(StringBuilder sb)
    {
        sb.Append('{');
        for (int i = 0; i < _entries.Length; i++)
        {
            if (i > 0) sb.Append(", ");
            _entries[i].Key.AppendRego(sb);
            sb.Append(": ");
            _entries[i].Value.AppendRego(sb);
        }
        sb.Append('}');
    }

    /// <summary>Collects entries, then sorts them once. Not thread safe; a builder makes one object.</summary>
    public sealed class Builder(int capacity = 4)
    {
        private KeyValuePair<Value, Value>[] _items = capacity > 0 ? new KeyValuePair<Value, Value>[capacity] : [];
        private int _count;
        private int _added;
        // Set once Build has handed _items to an object: a later Set or Build must not write into it.
        private bool _shared;

        /// <summary>Number of entries added so far (repeated keys counted each time).</summary>
        public int Count => _added;

        /// <summary>Sets <paramref name="key"/>; a later Set of an equal key wins.</summary>
        public Builder Set(Value key, Value value)
        {
            if (_shared || _count == _items.Length) Grow();
            _items[_count++] = new(key, value);
            _added++;
            return this;
        }

        /// <summary>Sets a string key.</summary>
        public Builder Set(string key, Value value) => Set(new StringValue(key), value);

        private void Grow()
        {
            var next = new KeyValuePair<Value, Value>[Math.Max(4, _count == _items.Length ? _items.Length * 2 : _items.Length)];
            Array.Copy(_items, next, _count);
            _items = next;
            _shared = false;
        }

        /// <summary>The object.</summary>
        public ObjectValue Build()
        {
            if (_count == 0) return Empty;
            if (_shared) Grow();
            int w = SortDistinct(_items.AsSpan(0, _count));
            Array.Clear(_items, w, _count - w);
            _count = w;
            // The sorted, distinct entries are the builder's state from now on (a later Set still wins over them).
            if (w == _items.Length)
            {
                _shared = true;
                return new ObjectValue(_items);
            }
            return new ObjectValue(_items.AsSpan(0, w).ToArray());
        }

        /// <summary>Sorts <paramref name="a"/> by key and keeps the last of each run of equal keys (the latest set wins);
        /// returns how many entries remain at the front.</summary>
        internal static int SortDistinct(Span<KeyValuePair<Value, Value>> a)
        {
            SortStable(a);
            int w = 0;
            for (int i = 0; i < a.Length; i++)
            {
                if (i + 1 < a.Length && a[i].Key.Equals(a[i + 1].Key)) continue;
                a[w++] = a[i];
            }
            return w;
        }

        /// <summary>Sorts by key keeping equal keys in insertion order: nothing to do for sorted input (copies of
        /// existing objects), insertion sort for small objects, else a sort on (key, position).</summary>
        private static void SortStable(Span<KeyValuePair<Value, Value>> a)
        {
            bool sorted = true;
            for (int i = 1; i < a.Length && sorted; i++) sorted = a[i - 1].Key.CompareTo(a[i].Key) <= 0;
            if (sorted) return;
            if (a.Length <= 16)
            {
                for (int i = 1; i < a.Length; i++)
                {
                    var x = a[i];
                    int j = i - 1;
                    while (j >= 0 && a[j].Key.CompareTo(x.Key) > 0) { a[j + 1] = a[j]; j--; }
                    a[j + 1] = x;
                }
                return;
            }
            var tagged = new (KeyValuePair<Value, Value> Entry, int Pos)[a.Length];
            for (int i = 0; i < a.Length; i++) tagged[i] = (a[i], i);
            Array.Sort(tagged, static (x, y) =>
            {
                int c = x.Entry.Key.CompareTo(y.Entry.Key);
                return c != 0 ? c : x.Pos.CompareTo(y.Pos);
            });
            for (int i = 0; i < a.Length; i++) a[i] = tagged[i].Entry;
        }
    }
}

/// <summary>A set: distinct elements held sorted in OPA's order, membership by binary search.</summary>
public sealed class SetValue : Value
{
    private readonly Value[] _items; // sorted, distinct
    private int _hash;

    private SetValue(Value[] sortedDistinct) => _items = sortedDistinct;

    /// <summary>The empty set.</summary>
    public static SetValue Empty { get; } = new([]);

    /// <summary>A set of <paramref name="items"/> (duplicates dropped).</summary>
    public static SetValue Of(IEnumerable<Value> items)
    {
        var arr = items.ToArray();
        if (arr.Length == 0) return Empty;
        Array.Sort(arr);
        int n = 1;
        for (int i = 1; i < arr.Length; i++) if (!arr[i].Equals(arr[n - 1])) arr[n++] = arr[i];
        if (n != arr.Length) Array.Resize(ref arr, n);
        return new SetValue(arr);
    }

    /// <summary>Number of elements.</summary>
    public int Count => _items.Length;
    /// <summary>Elements, sorted.</summary>
    public ReadOnlySpan<Value> Span => _items;
    /// <summary>Elements, sorted.</summary>
    public IReadOnlyList<Value> Items => _items;

    /// <summary>Membership.</summary>
    public bool Contains(Value v) => Array.BinarySearch(_items, v) >= 0;

    /// <summary>Elements in either set.</summary>
    public SetValue Union(SetValue other)
    {
        if (other._items.Length == 0) return this;
        if (_items.Length == 0) return other;
        var r = new List<Value>(_items.Length + other._items.Length);
        int i = 0, j = 0;
        while (i < _items.Length && j < other._items.Length)
        {
            int c = _items[i].CompareTo(other._items[j]);
            if (c < 0) r.Add(_items[i++]);
            else if (c > 0) r.Add(other._items[j++]);
            else { r.Add(_items[i++]); j++; }
        }
        while (i < _items.Length) r.Add(_items[i++]);
        while (j < other._items.Length) r.Add(other._items[j++]);
        return new SetValue(r.ToArray());
    }

    /// <summary>Elements in both sets.</summary>
    public SetValue Intersect(SetValue other) => new(_items.Where(other.Contains).ToArray());

    /// <summary>Elements of this set not in <paramref name="other"/>.</summary>
    public SetValue Except(SetValue other) => new(_items.Where(v => !other.Contains(v)).ToArray());

    public override ValueKind Kind => ValueKind.Set;

    public override bool Equals(Value? other)
        => ReferenceEquals(this, other) || (other is SetValue s && Sequence.Equal(_items, s._items));

    public override int GetHashCode() => _hash != 0 ? _hash : (_hash = Sequence.Hash(ValueKind.Set, _items));

    // Sets are held sorted, so OPA's set order is the element-wise order of the sorted elements.
    private protected override int CompareSameKind(Value other) => Sequence.Compare(_items, ((SetValue)other)._items);

    public override void WriteJson(Utf8JsonWriter writer) => Sequence.WriteJson(writer, _items);

    public override void AppendRego(StringBuilder sb)
    {
        if (_items.Length == 0) sb.Append("set()");
        else Sequence.AppendRego(sb, _items, '{', '}');
    }

    /// <summary>Collects elements, then sorts and de-duplicates once.</summary>
    public sealed class Builder(int capacity = 4)
    {
        private readonly List<Value> _items = new(capacity);
        /// <summary>Adds an element (duplicates are dropped at <see cref="Build"/>).</summary>
        public Builder Add(Value v) { _items.Add(v); return this; }
        /// <summary>The set.</summary>
        public SetValue Build() => Of(_items);
    }
}

/// <summary>What arrays and (sorted) sets share: element-wise equality, hashing, order and output.</summary>
internal static class Sequence
{
    public static bool Equal(Value[] a, Value[] b)
    {
        if (a.Length != b.Length) return false;
        for (int i = 0; i < a.Length; i++) if (!a[i].Equals(b[i])) return false;
        return true;
    }

    /// <summary>Never 0, so that 0 can mean "not computed yet" in the callers' caches.</summary>
    public static int Hash(ValueKind kind, Value[] items)
    {
        var h = new HashCode();
        h.Add(kind);
        foreach (var v in items) h.Add(v.GetHashCode());
        var r = h.ToHashCode();
        return r == 0 ? 1 : r;
    }

    /// <summary>Element-wise, then the shorter first.</summary>
    public static int Compare(Value[] a, Value[] b)
    {
        int n = Math.Min(a.Length, b.Length);
        for (int i = 0; i < n; i++)
        {
            int c = a[i].CompareTo(b[i]);
            if (c != 0) return c;
        }
        return a.Length.CompareTo(b.Length);
    }

    public static void WriteJson(Utf8JsonWriter writer, Value[] items)
    {
        writer.WriteStartArray();
        foreach (var v in items) v.WriteJson(writer);
        writer.WriteEndArray();
    }

    public static void AppendRego(StringBuilder sb, Value[] items, char open, char close)
    {
        sb.Append(open);
        for (int i = 0; i < items.Length; i++)
        {
            if (i > 0) sb.Append(", ");
            items[i].AppendRego(sb);
        }
        sb.Append(close);
    }
}
