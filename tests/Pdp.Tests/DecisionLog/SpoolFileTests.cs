using Pdp.DecisionLog;

namespace Pdp.Tests.DecisionLog;

/// <summary>The spool on its own: order, replay windows, segments, torn tails, reset, the directory lock.</summary>
public class SpoolFileTests
{
    private string _dir = null!;

    [SetUp]
    public void MakeDir() => _dir = Path.Combine(Path.GetTempPath(), "pdp-spool-" + Guid.NewGuid().ToString("N")[..12]);

    [TearDown]
    public void RemoveDir()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    [Test]
    public void Records_come_back_in_order_in_chunks_and_reset_empties_the_spool()
    {
        var records = Enumerable.Range(0, 25).Select(i => DecisionChain.Normalize(TestRecords.Full($"spool-{i:D2}"))).ToList();
        using var spool = new Spool(_dir);
        Assert.That(spool.Open(), Is.Empty);
        spool.Append([.. records.Take(10)]);
        spool.Append([.. records.Skip(10)]);
        Assert.That(spool.HasPending, Is.True);

        var back = new List<DecisionRecord>();
        back.AddRange(ReplayAll(spool, 7));
        Assert.That(back.Select(r => r.DecisionId), Is.EqualTo(records.Select(r => r.DecisionId)));
        Assert.That(DecisionChain.FirstDifference(back[3], records[3]), Is.Null, "every field survives the spool");
        spool.Reset();
        Assert.That(Spool.SegmentFiles(_dir), Is.Empty);
    }

    [Test]
    public void Reopen_drops_a_torn_tail_and_skips_corrupt_lines()
    {
        using (var spool = new Spool(_dir))
        {
            spool.Open();
            spool.Append([DecisionChain.Normalize(TestRecords.Full("a"))]);
        }
        var path = Spool.SegmentFiles(_dir).Single();
        File.AppendAllText(path, "garbage line\n");
        using (var spool = new Spool(_dir))
        {
            spool.Open();
            spool.Append([DecisionChain.Normalize(TestRecords.Full("b"))]);
        }
        File.AppendAllText(path, "{\"DecisionId\":\"torn");
        var bad = new List<string>();
        using var again = new Spool(_dir);
        var records = again.Open(bad.Add);
        Assert.That(records.Select(r => r.DecisionId), Is.EqualTo(new[] { "a", "b" }));
        Assert.That(bad, Has.Count.EqualTo(1));
        Assert.That(File.ReadAllText(path), Does.EndWith("\n"), "torn tail cut off");
    }

    [Test]
    public void A_record_larger_than_the_read_window_is_still_replayed()
    {
        var big = DecisionChain.Normalize(TestRecords.Full("big") with { MaskedInputJson = $"{{\"blob\":\"{new string('x', 5 << 20)}\"}}" });
        using var spool = new Spool(_dir);
        spool.Open();
        spool.Append([big, DecisionChain.Normalize(TestRecords.Full("small"))]);
        var (chunk, next) = spool.ReadNext(10);
        Assert.That(chunk.Select(r => r.DecisionId), Is.EqualTo(new[] { "big", "small" }));
        spool.Advance(next);
        Assert.That(spool.HasPending, Is.False);
    }

    [Test]
    public void A_torn_tail_longer_than_the_scan_block_is_cut_at_the_last_complete_line()
    {
        using (var spool = new Spool(_dir))
        {
            spool.Open();
            spool.Append([DecisionChain.Normalize(TestRecords.Full("kept"))]);
        }
        var path = Spool.SegmentFiles(_dir).Single();
        var complete = new FileInfo(path).Length;
        File.AppendAllText(path, "{\"DecisionId\":\"torn\",\"blob\":\"" + new string('y', 300_000));
        using var again = new Spool(_dir);
        Assert.That(again.Open().Select(r => r.DecisionId), Is.EqualTo(new[] { "kept" }));
        Assert.That(new FileInfo(path).Length, Is.EqualTo(complete));
    }

    [Test]
    public void Appends_move_to_a_new_segment_and_replayed_segments_are_deleted()
    {
        var records = Enumerable.Range(0, 40).Select(i => DecisionChain.Normalize(TestRecords.Full($"seg-{i:D2}"))).ToList();
        using var spool = new Spool(_dir, segmentBytes: 4096);
        spool.Open();
        var back = new List<DecisionRecord>();
        var mostFiles = 0;
        // appends and replay interleave, as under continuous load in journal mode
        for (var i = 0; i < records.Count; i += 4)
        {
            spool.Append(records.GetRange(i, 4));
            mostFiles = Math.Max(mostFiles, Spool.SegmentFiles(_dir).Count);
            var (chunk, next) = spool.ReadNext(3);
            back.AddRange(chunk);
            spool.Advance(next);
        }
        back.AddRange(ReplayAll(spool, 3));
        Assert.That(back.Select(r => r.DecisionId), Is.EqualTo(records.Select(r => r.DecisionId)), "in order, each once");
        Assert.That(mostFiles, Is.GreaterThan(1), "the records did not fit one 4 KB segment");
        Assert.That(Spool.SegmentFiles(_dir), Has.Count.EqualTo(1), "only the segment taking appends is left");
        Assert.That(spool.ReadNext(10).Records, Is.Empty);
    }

    [Test]
    public void Segments_left_by_a_crash_are_replayed_in_order_after_the_legacy_file()
    {
        var records = Enumerable.Range(0, 12).Select(i => DecisionChain.Normalize(TestRecords.Full($"old-{i:D2}"))).ToList();
        using (var spool = new Spool(_dir, segmentBytes: 4096))
        {
            spool.Open();
            spool.Append(records.GetRange(0, 2));
        }
        // the file of an older PDP, which had one spool file: it holds the oldest records
        File.Move(Spool.SegmentFiles(_dir).Single(), Path.Combine(_dir, Spool.LegacyFileName));
        using (var spool = new Spool(_dir, segmentBytes: 4096))
        {
            Assert.That(spool.Open().Select(r => r.DecisionId), Is.EqualTo(records.Take(2).Select(r => r.DecisionId)));
            for (var i = 2; i < records.Count; i += 2) spool.Append(records.GetRange(i, 2));
        }
        Assert.That(Spool.SegmentFiles(_dir), Has.Count.GreaterThan(2));
        Assert.That(Path.GetFileName(Spool.SegmentFiles(_dir)[0]), Is.EqualTo(Spool.LegacyFileName));
        using var again = new Spool(_dir, segmentBytes: 4096);
        var opened = again.Open();
        Assert.That(opened.Select(r => r.DecisionId), Is.EqualTo(records.Select(r => r.DecisionId)));
        for (var i = 0; i < records.Count; i++)
            Assert.That(DecisionChain.FirstDifference(opened[i], records[i]), Is.Null, "every field survives the file");
        Assert.That(ReplayAll(again, 5).Select(r => r.DecisionId), Is.EqualTo(records.Select(r => r.DecisionId)));
        Assert.That(File.Exists(Path.Combine(_dir, Spool.LegacyFileName)), Is.False, "replayed legacy file deleted");
    }

    [Test]
    public void Replay_switches_between_memory_and_files_without_losing_order()
    {
        // Room for 6 records in memory: appends beyond it leave replay to the files until it has caught up, after
        // which appends are replayed from memory again.
        var records = Enumerable.Range(0, 60).Select(i => DecisionChain.Normalize(TestRecords.Full($"mem-{i:D2}"))).ToList();
        using var spool = new Spool(_dir, segmentBytes: 8192, recentCapacity: 6);
        spool.Open();
        var back = new List<DecisionRecord>();
        var next = 0;
        foreach (var (appendCount, readMax) in new[] { (4, 2), (4, 9), (5, 3), (2, 1), (9, 4), (3, 20), (3, 2), (8, 3), (6, 6), (16, 5) })
        {
            spool.Append(records.GetRange(next, appendCount));
            next += appendCount;
            var (chunk, position) = spool.ReadNext(readMax);
            Assert.That(chunk, Has.Count.LessThanOrEqualTo(readMax));
            back.AddRange(chunk);
            spool.Advance(position);
        }
        back.AddRange(ReplayAll(spool, 4));
        Assert.That(back.Select(r => r.DecisionId), Is.EqualTo(records.Select(r => r.DecisionId)));
        for (var i = 0; i < records.Count; i++)
            Assert.That(DecisionChain.FirstDifference(back[i], records[i]), Is.Null, $"record {i}");
    }

    [Test]
    public void Zeros_written_ahead_are_cut_at_close_and_after_a_crash()
    {
        var records = Enumerable.Range(0, 6).Select(i => DecisionChain.Normalize(TestRecords.Full($"ahead-{i}"))).ToList();
        var crashed = Path.Combine(_dir, "crashed");
        Directory.CreateDirectory(crashed);
        long recordBytes;
        using (var spool = new Spool(_dir))
        {
            spool.Open();
            spool.Append(records.GetRange(0, 3));
            spool.Append(records.GetRange(3, 3));
            var path = Spool.SegmentFiles(_dir).Single();
            recordBytes = spool.FileBytes;
            // While open, the segment holds the records and then zeros written ahead, so that appends change no
            // file metadata. A crash leaves it like that: take a copy as it is now, with a torn line in the zeros.
            using (var open = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
            {
                Assert.That(open.Length, Is.GreaterThan(recordBytes + (512 << 10)), "zeros written ahead");
                var copy = new byte[open.Length];
                open.ReadExactly(copy);
                Assert.That(copy.AsSpan((int)recordBytes).ContainsAnyExcept((byte)0), Is.False);
                "{\"DecisionId\":\"torn"u8.CopyTo(copy.AsSpan((int)recordBytes));
                File.WriteAllBytes(Path.Combine(crashed, Path.GetFileName(path)), copy);
            }
        }
        Assert.That(new FileInfo(Spool.SegmentFiles(_dir).Single()).Length, Is.EqualTo(recordBytes), "a clean close cuts the zeros");

        using var recovered = new Spool(crashed);
        var back = recovered.Open();
        Assert.That(back.Select(r => r.DecisionId), Is.EqualTo(records.Select(r => r.DecisionId)));
        Assert.That(new FileInfo(Spool.SegmentFiles(crashed).Single()).Length, Is.EqualTo(recordBytes), "torn line and zeros cut at open");
        recovered.Append([DecisionChain.Normalize(TestRecords.Full("after"))]);
        Assert.That(ReplayAll(recovered, 10).Select(r => r.DecisionId), Is.EqualTo(records.Select(r => r.DecisionId).Append("after")));
    }

    // Reads and advances in chunks of at most max until nothing is pending, as the shipper does.
    private static List<DecisionRecord> ReplayAll(Spool spool, int max)
    {
        var back = new List<DecisionRecord>();
        while (spool.HasPending)
        {
            var (chunk, next) = spool.ReadNext(max);
            Assert.That(chunk, Has.Count.InRange(1, max));
            back.AddRange(chunk);
            spool.Advance(next);
        }
        return back;
    }

    [Test]
    public void A_second_spool_on_the_same_directory_is_refused()
    {
        using var first = new Spool(_dir);
        first.Open();
        using var second = new Spool(_dir);
        Assert.Throws<IOException>(() => second.Open());
    }
}
