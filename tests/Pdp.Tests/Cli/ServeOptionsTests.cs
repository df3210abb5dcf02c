using Pdp.Cli;
using Pdp.DecisionLog;

namespace Pdp.Tests.Cli;

/// <summary><c>pdp serve</c> settings as an operator gives them: <c>--log-ack</c>.</summary>
public class ServeOptionsTests
{
    [TestCase(null, DecisionLogAck.Commit)]
    [TestCase("commit", DecisionLogAck.Commit)]
    [TestCase("journal", DecisionLogAck.Journal)]
    [TestCase(" Journal ", DecisionLogAck.Journal)]
    public void Log_ack_flag_picks_when_a_decision_is_acknowledged(string? flag, DecisionLogAck expected)
    {
        // the flag wins over PDP_LOG_ACK; without either, commit
        var saved = Environment.GetEnvironmentVariable("PDP_LOG_ACK");
        Environment.SetEnvironmentVariable("PDP_LOG_ACK", null);
        try
        {
            var options = ServeCommand.Resolve("rego", null, "Host=x", null, null, null, flag);
            Assert.That(options.LogAck, Is.EqualTo(expected));
        }
        finally
        {
            Environment.SetEnvironmentVariable("PDP_LOG_ACK", saved);
        }
    }

    [Test]
    public void Log_ack_from_the_environment_and_a_bad_value_named_in_the_error()
    {
        var saved = Environment.GetEnvironmentVariable("PDP_LOG_ACK");
        try
        {
            Environment.SetEnvironmentVariable("PDP_LOG_ACK", "journal");
            Assert.That(ServeCommand.Resolve("rego", null, "Host=x", null, null, null).LogAck, Is.EqualTo(DecisionLogAck.Journal));
            Assert.That(ServeCommand.Resolve("rego", null, "Host=x", null, null, null, "commit").LogAck, Is.EqualTo(DecisionLogAck.Commit));
            Environment.SetEnvironmentVariable("PDP_LOG_ACK", "fsync");
            var e = Assert.Throws<ArgumentException>(() => ServeCommand.Resolve("rego", null, "Host=x", null, null, null));
            Assert.That(e!.Message, Does.Contain("--log-ack").And.Contain("PDP_LOG_ACK").And.Contain("'fsync'"));
        }
        finally
        {
            Environment.SetEnvironmentVariable("PDP_LOG_ACK", saved);
        }
    }

    [Test]
    public void An_unknown_acknowledgement_mode_is_refused_by_name()
    {
        var bad = new DecisionLogOptions { ConnectionString = "Host=x", Acknowledge = (DecisionLogAck)7 };
        Assert.That(Assert.Throws<ArgumentException>(bad.Validate)!.Message, Does.Contain("Acknowledge"));
    }
}
