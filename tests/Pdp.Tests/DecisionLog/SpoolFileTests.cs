using Pdp.DecisionLog;

namespace Pdp.Tests.DecisionLog;

/// <summary>The spool file on its own: order, replay windows, torn tails, reset, the directory lock.</summary>
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
    public void Records_come_back_in_order_in_chunks_and_reset_empties_the_file()
    {
        var records = Enumerable.Range(0, 25).Select(i => DecisionChain.Normalize(TestRecords.Full($"spool-{i:D2}"))).ToList();
        using var spool = new Spool(_dir);
        Assert.That(spool.Open(), Is.Empty);
        spool.Append(records.Take(10));
        spool.Append(records.Skip(10));
        Assert.That(spool.HasPending, Is.True);

        var back = new List<DecisionRecord>();
        while (spool.HasPending)
        {
            var (chunk, next) = spool.ReadNext(7);
            Assert.That(chunk, Has.Count.LessThanOrEqualTo(7));
            back.AddRange(chunk);
            spool.Advance(next);
        }
        Assert.That(back.Select(r => r.DecisionId), Is.EqualTo(records.Select(r => r.DecisionId)));
        Assert.That(DecisionChain.FirstDifference(back[3], records[3]), Is.Null, "every field survives the spool");
        spool.Reset();
        Assert.That(new FileInfo(spool.FilePath).Length, Is.Zero);
    }

    [Test]
    public void Reopen_drops_a_torn_tail_and_skips_corrupt_lines()
    {
        using (var spool = new Spool(_dir))
        {
            spool.Open();
            spool.Append([DecisionChain.Normalize(TestRecords.Full("a"))]);
        }
        var path = Path.Combine(_dir, Spool.FileName);
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
        var path = Path.Combine(_dir, Spool.FileName);
        var complete = new FileInfo(path).Length;
        File.AppendAllText(path, "{\"DecisionId\":\"torn\",\"blob\":\"" + new string('y', 300_000));
        using var again = new Spool(_dir);
        Assert.That(again.Open().Select(r => r.DecisionId), Is.EqualTo(new[] { "kept" }));
        Assert.That(new FileInfo(path).Length, Is.EqualTo(complete));
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
