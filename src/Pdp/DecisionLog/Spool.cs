using System.Text;
using System.Text.Json;

namespace Pdp.DecisionLog;

/// <summary>
/// The local spool: an append-only file <c>decisions.spool.jsonl</c> (one JSON <see cref="DecisionRecord"/> per
/// line) that holds records while PostgreSQL cannot take them. <see cref="Append"/> returns only after
/// <c>fsync</c>. Records are read back in order from a replay offset; <see cref="Reset"/> empties the file once
/// everything is in PostgreSQL. A lock file keeps a second process off the same spool directory.
/// Not thread safe: the caller serializes access.
/// </summary>
internal sealed class Spool : IDisposable
{
    /// <summary>Name of the spool file inside the spool directory.</summary>
    public const string FileName = "decisions.spool.jsonl";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false };
    private readonly string _directory;
    private FileStream? _lock;
    private long _length;       // bytes of complete lines in the file
    private long _replayOffset; // bytes already replayed into PostgreSQL

    /// <summary>Full path of the spool file.</summary>
    public string FilePath { get; }

    /// <summary>True while some spooled records are not yet replayed.</summary>
    public bool HasPending => _length > _replayOffset;

    /// <summary>Uses <paramref name="directory"/>; nothing touches the disk until <see cref="Open"/>.</summary>
    public Spool(string directory)
    {
        _directory = Path.GetFullPath(directory);
        FilePath = Path.Combine(_directory, FileName);
    }

    /// <summary>
    /// Creates the directory, takes the lock, drops a torn last line left by a crash (it was never acknowledged)
    /// and returns up to <paramref name="maxRecords"/> of the records still in the file (the rest stay in the file
    /// and are replayed all the same; the file is never loaded whole). Throws <see cref="IOException"/> or
    /// <see cref="UnauthorizedAccessException"/> when the directory is unusable.
    /// </summary>
    public List<DecisionRecord> Open(Action<string>? onBadLine = null, int maxRecords = int.MaxValue)
    {
        Directory.CreateDirectory(_directory);
        _lock ??= new FileStream(Path.Combine(_directory, "spool.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        _length = _replayOffset = 0;
        if (!File.Exists(FilePath)) return [];
        using (var fs = new FileStream(FilePath, FileMode.Open, FileAccess.ReadWrite, FileShare.Read))
        {
            var end = EndOfLastLine(fs);
            if (end < fs.Length)
            {
                fs.SetLength(end);
                fs.Flush(true);
            }
            _length = end;
        }
        var records = new List<DecisionRecord>();
        var offset = 0L;
        while (offset < _length && records.Count < maxRecords)
        {
            var (chunk, next) = ReadAt(offset, Math.Min(10_000, maxRecords - records.Count), onBadLine);
            records.AddRange(chunk);
            if (next == offset) break;
            offset = next;
        }
        return records;
    }

    // Offset just past the last '\n', scanning backwards in blocks.
    private static long EndOfLastLine(FileStream fs)
    {
        var block = new byte[64 * 1024];
        var pos = fs.Length;
        while (pos > 0)
        {
            var n = (int)Math.Min(block.Length, pos);
            pos -= n;
            fs.Position = pos;
            fs.ReadExactly(block, 0, n);
            var i = Array.LastIndexOf(block, (byte)'\n', n - 1, n);
            if (i >= 0) return pos + i + 1;
        }
        return 0;
    }

    /// <summary>Appends the records as JSON lines and fsyncs. On failure the file is cut back and the error rethrown.</summary>
    public void Append(IEnumerable<DecisionRecord> records)
    {
        var sb = new StringBuilder();
        foreach (var r in records) sb.Append(JsonSerializer.Serialize(r, Json)).Append('\n');
        var data = Encoding.UTF8.GetBytes(sb.ToString());
        Directory.CreateDirectory(_directory);
        using var fs = new FileStream(FilePath, FileMode.OpenOrCreate, FileAccess.Write, FileShare.Read);
        try
        {
            fs.Position = _length;
            fs.Write(data);
            fs.Flush(true);
        }
        catch
        {
            try { fs.SetLength(_length); } catch { /* the torn tail is dropped at the next Open */ }
            throw;
        }
        _length += data.Length;
    }

    /// <summary>Up to <paramref name="max"/> records after the replay offset, and the offset just past them.</summary>
    public (List<DecisionRecord> Records, long NextOffset) ReadNext(int max, Action<string>? onBadLine = null) =>
        HasPending ? ReadAt(_replayOffset, max, onBadLine) : ([], _replayOffset);

    private (List<DecisionRecord> Records, long NextOffset) ReadAt(long offset, int max, Action<string>? onBadLine)
    {
        using var fs = new FileStream(FilePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        // Read a window, not the whole remainder (a long outage can leave a large spool); grow it only when
        // not even one complete line fits.
        var window = (int)Math.Min(_length - offset, 4 << 20);
        while (true)
        {
            fs.Position = offset;
            var buf = new byte[window];
            fs.ReadExactly(buf);
            var (records, consumed) = Parse(buf, max, onBadLine);
            if (consumed > 0 || window == _length - offset) return (records, offset + consumed);
            window = (int)Math.Min(_length - offset, (long)window * 2);
        }
    }

    /// <summary>Marks everything before <paramref name="offset"/> as replayed.</summary>
    public void Advance(long offset) => _replayOffset = Math.Min(offset, _length);

    /// <summary>Empties the spool file (everything was replayed) and fsyncs.</summary>
    public void Reset()
    {
        using (var fs = new FileStream(FilePath, FileMode.OpenOrCreate, FileAccess.Write, FileShare.Read))
        {
            fs.SetLength(0);
            fs.Flush(true);
        }
        _length = _replayOffset = 0;
    }

    private static (List<DecisionRecord>, long) Parse(ReadOnlySpan<byte> data, int max, Action<string>? onBadLine)
    {
        var list = new List<DecisionRecord>();
        var pos = 0;
        while (pos < data.Length && list.Count < max)
        {
            var nl = data[pos..].IndexOf((byte)'\n');
            if (nl < 0) break;
            var line = data.Slice(pos, nl);
            pos += nl + 1;
            if (line.IsEmpty) continue;
            try
            {
                var r = JsonSerializer.Deserialize<DecisionRecord>(line, Json);
                if (r is not null) list.Add(r);
            }
            catch (JsonException e)
            {
                // A corrupt line cannot be replayed; report it and go on so the rest is not blocked.
                onBadLine?.Invoke($"{e.Message}: {Encoding.UTF8.GetString(line[..Math.Min(line.Length, 200)])}");
            }
        }
        return (list, pos);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _lock?.Dispose();
        _lock = null;
    }
}
