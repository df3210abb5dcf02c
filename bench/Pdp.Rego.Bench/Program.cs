using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using Pdp.Rego;
using Pdp.Rego.Bench;
using Pdp.Rego.Values;

// Usage: dotnet run -c Release --project bench/Pdp.Rego.Bench [-- --filter '*']
// Prints the decision once per input first, so a run also shows that the policy decides what it should.
Environment.SetEnvironmentVariable("POLICYPOINT_ROOT", McpPolicyFixture.RepoRoot());
var (modules, data) = McpPolicyFixture.Load();
var policy = RegoCompiler.Compile(modules, data);
foreach (var (name, input) in new[] { ("allowed", McpPolicyFixture.AllowedInput()), ("denied", McpPolicyFixture.DeniedInput()) })
{
    var d = (ObjectValue?)policy.Evaluate(McpPolicyFixture.Entrypoint, input);
    Console.WriteLine($"{name}: allow={d?["allow"]} reasons={d?["reasons"]}");
}
BenchmarkSwitcher.FromAssembly(typeof(McpPolicyBenchmarks).Assembly).Run(args.Length == 0 ? ["--filter", "*"] : args);

namespace Pdp.Rego.Bench
{
    /// <summary>One evaluation of the MCP policy (ALLOW and DENY paths) and one compilation, on one core.</summary>
    [MemoryDiagnoser]
    [Config(typeof(OneCoreConfig))]
    public class McpPolicyBenchmarks
    {
        private CompiledPolicy _policy = null!;
        private Value _allowed = null!, _denied = null!, _allowedLong = null!;
        private IReadOnlyList<RegoModuleSource> _modules = null!;
        private Value _data = null!;

        [GlobalSetup]
        public void Setup()
        {
            (_modules, _data) = McpPolicyFixture.Load();
            _policy = RegoCompiler.Compile(_modules, _data);
            _allowed = McpPolicyFixture.AllowedInput();
            _denied = McpPolicyFixture.DeniedInput();
            _allowedLong = McpPolicyFixture.AllowedInput(McpPolicyFixture.LongHistoryLength);
        }

        [Benchmark(Description = "evaluate decision (allow)")]
        public Value? EvaluateAllowed() => _policy.Evaluate(McpPolicyFixture.Entrypoint, _allowed);

        [Benchmark(Description = "evaluate decision (deny)")]
        public Value? EvaluateDenied() => _policy.Evaluate(McpPolicyFixture.Entrypoint, _denied);

        [Benchmark(Description = "evaluate decision (allow, 64-entry history)")]
        public Value? EvaluateAllowedLongHistory() => _policy.Evaluate(McpPolicyFixture.Entrypoint, _allowedLong);

        [Benchmark(Description = "compile policy + 200 grants")]
        public CompiledPolicy Compile() => RegoCompiler.Compile(_modules, _data);
    }

    /// <summary>Pinned to one core, short but stable runs; the table includes the median.</summary>
    public sealed class OneCoreConfig : ManualConfig
    {
        public OneCoreConfig()
        {
            // 20 iterations: the machine is shared, and a longer series keeps bursts of other work off the median.
            AddJob(Job.Default.WithAffinity(1).WithWarmupCount(5).WithIterationCount(20));
            // The target in issue 2 is on the median.
            AddColumn(BenchmarkDotNet.Columns.StatisticColumn.Median);
        }
    }
}
