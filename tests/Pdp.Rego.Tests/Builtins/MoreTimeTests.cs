namespace Pdp.Rego.Tests.Builtins;

/// <summary>time.* with Go's layouts, durations and calendar arithmetic.</summary>
public sealed class MoreTimeTests : MoreBuiltinTestBase
{
    [Test]
    public void NowNsIsTheEvaluationClock()
        => Assert.That(Json("time.now_ns"), Is.EqualTo("1585852421593000000"));

    [TestCase("1970-01-01T00:00:00Z", "0")]
    [TestCase("2017-06-02T19:00:00-07:00", "1496455200000000000")]
    [TestCase("1677-09-21T00:12:43.145224192-00:00", "-9223372036854775808")]
    [TestCase("2262-04-11T23:47:16.854775807-00:00", "9223372036854775807")]
    [TestCase("2020-04-02T18:33:41.5Z", "1585852421500000000")]
    public void ParseRfc3339(string text, string ns) => Assert.That(Json("time.parse_rfc3339_ns", Q(text)), Is.EqualTo(ns));

    [TestCase("2262-04-11T23:47:16.854775808-00:00", "time outside of valid range")]
    [TestCase("2017-06-02 19:00:00", "cannot parse")]
    [TestCase("2017-02-30T00:00:00Z", "day out of range")]
    public void ParseRfc3339Errors(string text, string message)
    {
        var e = Fails("time.parse_rfc3339_ns", Q(text));
        Assert.That(e.Code, Is.EqualTo("eval_builtin_error"));
        Assert.That(e.Message, Does.Contain(message));
    }

    [TestCase("2006-01-02", "2020-02-02", "1580601600000000000")]
    [TestCase("Mon Jan _2 15:04:05 MST 2006", "Tue Feb  4 10:00:01 UTC 2020", "1580810401000000000")]
    [TestCase("02 Jan 06 15:04 -0700", "01 Mar 21 10:00 +0100", "1614589200000000000")]
    [TestCase("RFC3339", "2020-02-02T00:00:00Z", "1580601600000000000")]
    [TestCase("2006-01-02 3:04PM", "2020-02-02 1:30PM", "1580650200000000000")]
    [TestCase("2006-01-02T15:04:05.000Z07:00", "2020-02-02T00:00:00.250+00:00", "1580601600250000000")]
    public void ParseNs(string layout, string value, string ns) => Assert.That(Json("time.parse_ns", Q(layout), Q(value)), Is.EqualTo(ns));

    [TestCase("100ms", "100000000")]
    [TestCase("1h30m2.5s", "5402500000000")]
    [TestCase("-1.5h", "-5400000000000")]
    [TestCase("1us", "1000")]
    [TestCase("1µs", "1000")]
    [TestCase("0", "0")]
    public void ParseDuration(string text, string ns) => Assert.That(Json("time.parse_duration_ns", Q(text)), Is.EqualTo(ns));

    [TestCase("1")]
    [TestCase("1x")]
    [TestCase("")]
    [TestCase("9999999999h")]
    public void ParseDurationErrors(string text) => Assert.That(Fails("time.parse_duration_ns", Q(text)).Code, Is.EqualTo("eval_builtin_error"));

    [Test]
    public void DateClockWeekday()
    {
        Assert.That(Json("time.date", "1517814000000000000"), Is.EqualTo("[2018,2,5]"));
        Assert.That(Json("time.clock", "[1517832000000000000, \"America/New_York\"]"), Is.EqualTo("[7,0,0]"));
        Assert.That(Json("time.weekday", "1518177600000000000"), Is.EqualTo("\"Friday\""));
        Assert.That(Json("time.date", "[-1, \"\"]"), Is.EqualTo("[1969,12,31]"));
        Assert.That(Fails("time.date", "1582977600000000000000").Message, Does.Contain("timestamp too big"));
        Assert.That(Fails("time.date", "[0, \"Nowhere/Atlantis\"]").Message, Does.Contain("unknown time zone Nowhere/Atlantis"));
    }

    [Test]
    public void AddDateNormalizesAsGo()
    {
        Assert.That(Json("time.add_date", "1585852421593912000", "3", "9", "12"), Is.EqualTo("1705257221593912000"));
        // 2021-01-31 + 1 month = 2021-03-03 (February has 28 days).
        Assert.That(Json("time.add_date", "1612051200000000000", "0", "1", "0"), Is.EqualTo("1614729600000000000"));
        Assert.That(Fails("time.add_date", "0", "2262", "1", "1").Message, Does.Contain("time outside of valid range"));
    }

    [Test]
    public void Diff()
    {
        // 2020-02-02 to 2020-03-01: 28 days (leap year).
        Assert.That(Json("time.diff", "1580601600000000000", "1583020800000000000"), Is.EqualTo("[0,0,28,0,0,0]"));
        // Order does not matter.
        Assert.That(Json("time.diff", "1583020800000000000", "1580601600000000000"), Is.EqualTo("[0,0,28,0,0,0]"));
        Assert.That(Json("time.diff", "61000000000", "0"), Is.EqualTo("[0,0,0,0,1,1]"));
    }

    [Test]
    public void Format()
    {
        Assert.That(Json("time.format", "1585852421593912000"), Is.EqualTo("\"2020-04-02T18:33:41.593912Z\""));
        Assert.That(Json("time.format", "[1585852421593912000, \"America/New_York\", \"Mon Jan _2 15:04:05 -0700 2006\"]"), Is.EqualTo("\"Thu Apr  2 14:33:41 -0400 2020\""));
        Assert.That(Json("time.format", "[1585852421593912000, \"UTC\", \"RFC822\"]"), Is.EqualTo("\"02 Apr 20 18:33 UTC\""));
        Assert.That(Json("time.format", "[1585852421593912000, \"\", \"2006-01-02 03:04:05.000 pm\"]"), Is.EqualTo("\"2020-04-02 06:33:41.593 pm\""));
    }

    [Test]
    public void FormatPrintsZoneAbbreviationsAsGo()
    {
        Assert.That(Json("time.format", "[1585852421593912000, \"America/New_York\", \"UnixDate\"]"), Is.EqualTo("\"Thu Apr  2 14:33:41 EDT 2020\""));
        Assert.That(Json("time.format", "[1577880000000000000, \"America/New_York\", \"RFC1123\"]"), Is.EqualTo("\"Wed, 01 Jan 2020 07:00:00 EST\""));
        Assert.That(Json("time.format", "[1585852421593912000, \"Europe/Paris\", \"MST\"]"), Is.EqualTo("\"CEST\""));
    }

    [Test]
    public void FormatThenParseRoundTrips()
    {
        var text = Call("time.format", "[1585852421593912345, \"Asia/Kolkata\"]")!.ToJson();
        Assert.That(Json("time.parse_rfc3339_ns", text), Is.EqualTo("1585852421593912345"));
    }
}
