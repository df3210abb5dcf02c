// Pdp.LoadBench: N concurrent gRPC Check callers over loopback for D seconds against `pdp serve`, then the same load
// against a no-op gRPC AuthorizationService (this program, as a child process) as the floor.
// Options: BenchOptions.Usage below (or --help).
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using PolicyPoint.V1;

namespace Pdp.LoadBench;

internal static class Program
{
    private static async Task<int> Main(string[] args)
    {
        if (args.Length >= 2 && args[0] == "--serve-noop") return await NoopServer.RunAsync(int.Parse(args[1], CultureInfo.InvariantCulture));
        if (args is ["--help"] or ["-h"])
        {
            Console.WriteLine(BenchOptions.Usage);
            return 0;
        }
        BenchOptions options;
        try { options = BenchOptions.Parse(args); }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"Pdp.LoadBench: {e.Message}");
            return 2;
        }
        return await Bench.RunAsync(options);
    }
}

/// <summary>Command-line settings of one benchmark run.</summary>
internal sealed class BenchOptions
{
    public const string Usage = """
          dotnet run -c Release --project bench/Pdp.LoadBench -- [options]
            --duration S       measured seconds per target (default 10)        --long   --duration 60, warm-up 15 s
            --warmup S         unmeasured seconds before each run (default 3; 15 with --long)
            --concurrency N    concurrent callers (default 12)                --connections N  HTTP/2 connections (default 2)
                               Closed loop: mean latency = callers / throughput, so 64 callers at 5,000/s would mean
                               12.8 ms on average, above the p99 target by construction; 12 give 2.4 ms. More callers
                               batch more (less CPU per Check) and queue more (higher latency).
            --rate R           open loop instead: R Checks/s offered on a fixed schedule whatever the answers, each
                               latency measured from the moment its call was due (so a stall counts against every call it
                               delays, not only the one in flight); the run reports whether the rate was sustained. The
                               warm-up still runs the closed loop, so the schedule starts against a warm server
            --policy DIR       bundle for pdp serve (default: rego/ of the repository)
            --db CONN          PostgreSQL of the decision log (default: a throwaway cluster via scripts/pg.sh)
            --pdp-dll PATH     pdp.dll to run (default: src/Pdp/bin/Release/net10.0/pdp.dll)
            --request-ids      give every Check a unique request_id (adds the idempotency lookup to each call)
            --log-ack MODE     pdp serve --log-ack: commit (answer once the record is committed in PostgreSQL) or journal
                               (answer once it is fsynced to the local spool; shipped to PostgreSQL right after); default commit
            --skip-floor       do not run the no-op floor
            --pdp-env K=V      set an environment variable of pdp serve only (repeatable), e.g. a runtime knob to compare
        Prints throughput, p50/p99/p99.9/max latency, errors, peak RSS of the server process, CPU per Check of the server,
        of PostgreSQL (throwaway cluster only) and of this generator (comparable across runs even when other work shares
        the cores), the throughput those CPU costs allow on this machine's cores, and PDP/floor ratios.
        """;

    public int DurationSeconds { get; private set; } = 10;
    public int WarmupSeconds { get; private set; } = 3;
    public int Concurrency { get; private set; } = 12;
    public int Connections { get; private set; } = 2;
    /// <summary>Offered Checks/s of an open-loop run; 0 = closed loop with <see cref="Concurrency"/> callers.</summary>
    public int Rate { get; private set; }
    public string? Policy { get; private set; }
    public string? Db { get; private set; }
    public string? PdpDll { get; private set; }
    public bool RequestIds { get; private set; }
    public bool SkipFloor { get; private set; }
    public string LogAck { get; private set; } = "commit";
    public List<KeyValuePair<string, string>> PdpEnvironment { get; } = [];

    public static BenchOptions Parse(string[] args)
    {
        var o = new BenchOptions();
        var warmupGiven = false;
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            int Int(int min, int max)
            {
                var name = args[i];
                var v = Next();
                return int.TryParse(v, out var n) && n >= min && n <= max ? n : throw new ArgumentException($"{name} must be an integer in {min}..{max}, got '{v}'");
            }
            switch (args[i])
            {
                case "--duration": o.DurationSeconds = Int(1, 3600); break;
                // A 60-s run gets a warm-up long enough for tiered compilation to finish (it still took ~5 % of
                // the PDP's CPU 15-27 s after start), unless --warmup says otherwise.
                case "--long": o.DurationSeconds = 60; if (!warmupGiven) o.WarmupSeconds = 15; break;
                case "--warmup": o.WarmupSeconds = Int(0, 600); warmupGiven = true; break;
                case "--concurrency": o.Concurrency = Int(1, 4096); break;
                case "--connections": o.Connections = Int(1, 64); break;
                case "--rate": o.Rate = Int(1, 1_000_000); break;
                case "--policy": o.Policy = Next(); break;
                case "--db": o.Db = Next(); break;
                case "--pdp-dll": o.PdpDll = Next(); break;
                case "--request-ids": o.RequestIds = true; break;
                case "--skip-floor": o.SkipFloor = true; break;
                case "--pdp-env":
                    var kv = Next();
                    var eq = kv.IndexOf('=');
                    if (eq <= 0) throw new ArgumentException($"--pdp-env takes NAME=VALUE, got '{kv}'");
                    o.PdpEnvironment.Add(KeyValuePair.Create(kv[..eq], kv[(eq + 1)..]));
                    break;
                case "--log-ack":
                    o.LogAck = Next() is "commit" or "journal" ? args[i] : throw new ArgumentException($"--log-ack must be commit or journal, got '{args[i]}'");
                    break;
                default: throw new ArgumentException($"unknown option {args[i]}\n{Usage}");
            }
        }
        return o;
    }
}

/// <summary>Latency and count figures of one target.</summary>
internal sealed record RunResult(string Target, long Ok, long Errors, double Seconds, double P50Ms, double P99Ms, double P999Ms, double MaxMs,
    long PeakRssBytes, IReadOnlyDictionary<Decision, long> Decisions, double ServerCpuSeconds, double GeneratorCpuSeconds, double DatabaseCpuSeconds)
{
    public double PerSecond => Ok / Seconds;

    /// <summary>Server process CPU (user + system) per answered Check in the measured window, in microseconds.</summary>
    public double ServerCpuMicrosPerCheck => Ok == 0 ? double.NaN : ServerCpuSeconds * 1e6 / Ok;

    /// <summary>This load generator's own CPU per answered Check, in microseconds.</summary>
    public double GeneratorCpuMicrosPerCheck => Ok == 0 ? double.NaN : GeneratorCpuSeconds * 1e6 / Ok;

    /// <summary>PostgreSQL's CPU (all its processes) per answered Check, in microseconds; NaN when not measured.</summary>
    public double DatabaseCpuMicrosPerCheck => Ok == 0 ? double.NaN : DatabaseCpuSeconds * 1e6 / Ok;
}

internal static class Bench
{
    public static async Task<int> RunAsync(BenchOptions o)
    {
        var root = FindRepoRoot();
        var runId = "bench-" + Guid.NewGuid().ToString("N")[..8];
        var temp = Directory.CreateTempSubdirectory("pdp-bench-").FullName;
        // pg.sh runs PostgreSQL as user postgres when we are root: it must be able to enter this folder.
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(temp, (UnixFileMode)0b111_101_101);
        string? pgDir = null;
        var db = o.Db;
        try
        {
            if (db is null)
            {
                pgDir = Path.Combine(temp, "pg");
                db = await Shell.RunAsync("bash", Path.Combine(root, "scripts", "pg.sh"), "start", pgDir, FreePort().ToString(CultureInfo.InvariantCulture));
                db = db.Trim();
                Console.WriteLine($"PostgreSQL (throwaway): {db}");
            }
            var pdpDll = o.PdpDll ?? Path.Combine(root, "src", "Pdp", "bin", "Release", "net10.0", "pdp.dll");
            if (!File.Exists(pdpDll)) throw new FileNotFoundException($"{pdpDll} not found: build it first (dotnet build src/Pdp/Pdp.csproj -c Release) or pass --pdp-dll");
            var policy = o.Policy ?? Path.Combine(root, "rego");

            Console.WriteLine($"Load: {(o.Rate > 0 ? $"open loop, {o.Rate} Checks/s offered" : $"{o.Concurrency} callers")} over {o.Connections} HTTP/2 connection(s), {o.WarmupSeconds} s warm-up + {o.DurationSeconds} s measured, request_id {(o.RequestIds ? "unique per call" : "none")}, decision log acknowledges at {o.LogAck}");
            Console.WriteLine($"Machine: {Environment.ProcessorCount} cores; generator and server share them.");
            if (o.PdpEnvironment.Count > 0) Console.WriteLine($"pdp serve environment: {string.Join(' ', o.PdpEnvironment.Select(e => $"{e.Key}={e.Value}"))}");

            var pdpPort = FreePort();
            var pdp = await Server.StartAsync("dotnet", [pdpDll, "serve", "--policy", policy, "--db", db, "--listen", $"127.0.0.1:{pdpPort}", "--spool", Path.Combine(temp, "spool"),
                // commit is pdp's default: not passing it lets the bench run older builds (--pdp-dll) too
                .. (o.LogAck == "commit" ? Array.Empty<string>() : ["--log-ack", o.LogAck])], pdpPort, o.PdpEnvironment);
            RunResult pdpResult;
            DateTimeOffset start;
            try
            {
                start = DateTimeOffset.UtcNow;
                pdpResult = await Load.RunAsync("pdp serve", pdp, o, runId, pgDir is null ? null : () => PostgresCpuSeconds(pgDir));
            }
            finally
            {
                await pdp.StopAsync();
            }
            var logged = await CountLoggedAsync(db, runId);

            RunResult? floor = null;
            if (!o.SkipFloor)
            {
                var floorPort = FreePort();
                var (exe, prefix) = SelfCommand();
                var noop = await Server.StartAsync(exe, [.. prefix, "--serve-noop", floorPort.ToString(CultureInfo.InvariantCulture)], floorPort);
                try { floor = await Load.RunAsync("no-op floor", noop, o, runId); }
                finally { await noop.StopAsync(); }
            }

            Console.WriteLine();
            Console.WriteLine($"{"target",-12} {"Checks/s",10} {"ok",9} {"errors",7} {"p50 ms",8} {"p99 ms",8} {"p99.9 ms",9} {"max ms",8} {"peak RSS",9} {"srv us/Chk",10} {"pg us/Chk",9} {"gen us/Chk",10}");
            foreach (var r in new[] { pdpResult, floor }.OfType<RunResult>())
                Console.WriteLine($"{r.Target,-12} {r.PerSecond,10:F0} {r.Ok,9} {r.Errors,7} {r.P50Ms,8:F2} {r.P99Ms,8:F2} {r.P999Ms,9:F2} {r.MaxMs,8:F1} {r.PeakRssBytes / 1048576.0,7:F0}MB {r.ServerCpuMicrosPerCheck,10:F0} {r.DatabaseCpuMicrosPerCheck,9:F0} {r.GeneratorCpuMicrosPerCheck,10:F0}");
            if (!double.IsNaN(pdpResult.DatabaseCpuMicrosPerCheck))
            {
                // The cores bound the throughput: N cores give N seconds of CPU per second to share.
                var perCheck = pdpResult.ServerCpuMicrosPerCheck + pdpResult.DatabaseCpuMicrosPerCheck + pdpResult.GeneratorCpuMicrosPerCheck;
                Console.WriteLine($"CPU per Check, every process of the run: {perCheck:F0} us (server {pdpResult.ServerCpuMicrosPerCheck:F0} + PostgreSQL {pdpResult.DatabaseCpuMicrosPerCheck:F0} + generator {pdpResult.GeneratorCpuMicrosPerCheck:F0}); " +
                    $"{Environment.ProcessorCount} cores at that cost give at most {Environment.ProcessorCount * 1e6 / perCheck:F0} Checks/s; used {(pdpResult.ServerCpuSeconds + pdpResult.DatabaseCpuSeconds + pdpResult.GeneratorCpuSeconds) / pdpResult.Seconds:F2} cores");
            }
            Console.WriteLine($"Load average while measuring (other work on the machine skews the figures): {(File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a")}");
            Console.WriteLine($"PDP decisions: {string.Join(", ", pdpResult.Decisions.Select(d => $"{d.Key}={d.Value}"))}");
            Console.WriteLine($"Rows in decisions for this run (warm-up included): {logged}; acknowledged in the measured window: {pdpResult.Ok}");
            if (floor is not null)
                Console.WriteLine($"PDP/floor: throughput {pdpResult.PerSecond / floor.PerSecond:P1}, p50 {pdpResult.P50Ms / floor.P50Ms:F1}x, p99 {pdpResult.P99Ms / floor.P99Ms:F1}x");
            // Open loop: the offered rate is sustained when every call due in the window was answered (the count of due
            // calls over the window's measured length differs from the rate only by the calls at its two edges).
            var sustained = o.Rate > 0 ? o.Rate >= 5000 && pdpResult.PerSecond >= o.Rate * 0.999 : pdpResult.PerSecond >= 5000;
            var pass = sustained && pdpResult.P99Ms < 10 && pdpResult.PeakRssBytes < 300L * 1024 * 1024 && pdpResult.Errors == 0 && logged >= pdpResult.Ok;
            Console.WriteLine($"Target (>= 5000 Checks/s, p99 < 10 ms, RSS < 300 MB, no errors, all logged): {(pass ? "MET" : "NOT MET")}");
            return 0;
        }
        catch (Exception e) when (e is FileNotFoundException or InvalidOperationException or TimeoutException or NpgsqlException)
        {
            Console.Error.WriteLine($"Pdp.LoadBench: {e.Message}");
            return 1;
        }
        finally
        {
            if (pgDir is not null)
            {
                try { await Shell.RunAsync("bash", Path.Combine(root, "scripts", "pg.sh"), "stop", pgDir, "immediate"); }
                catch (Exception e) { Console.Error.WriteLine($"Pdp.LoadBench: stopping PostgreSQL: {e.Message}"); }
            }
            try { Directory.Delete(temp, recursive: true); } catch (Exception) { /* temp files; harmless */ }
        }
    }

    // CPU seconds (user + system) of the throwaway cluster: its postmaster, every live child (backends, WAL writer,
    // checkpointer...) and the children that already exited (the postmaster's cutime/cstime). NaN when unreadable.
    private static double PostgresCpuSeconds(string pgDir)
    {
        try
        {
            var pid = int.Parse(File.ReadLines(Path.Combine(pgDir, "data", "postmaster.pid")).First().Trim(), CultureInfo.InvariantCulture);
            double ticks = 0;
            foreach (var dir in Directory.EnumerateDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(dir), out var p)) continue;
                string stat;
                try { stat = File.ReadAllText(Path.Combine(dir, "stat")); }
                catch (IOException) { continue; }   // exited meanwhile
                var f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                // after "pid (comm) ": state=0 ppid=1 ... utime=11 stime=12 cutime=13 cstime=14
                if (p == pid) ticks += double.Parse(f[11], CultureInfo.InvariantCulture) + double.Parse(f[12], CultureInfo.InvariantCulture) + double.Parse(f[13], CultureInfo.InvariantCulture) + double.Parse(f[14], CultureInfo.InvariantCulture);
                else if (int.Parse(f[1], CultureInfo.InvariantCulture) == pid) ticks += double.Parse(f[11], CultureInfo.InvariantCulture) + double.Parse(f[12], CultureInfo.InvariantCulture);
            }
            return ticks / 100.0;   // USER_HZ
        }
        catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException or InvalidOperationException)
        {
            return double.NaN;
        }
    }

    private static async Task<long> CountLoggedAsync(string db, string runId)
    {
        await using var conn = new NpgsqlConnection(db);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand("SELECT count(*) FROM decisions WHERE session_id LIKE @s", conn);
        cmd.Parameters.AddWithValue("s", runId + "-%");
        return (long)(await cmd.ExecuteScalarAsync())!;
    }

    private static (string Exe, string[] Prefix) SelfCommand()
    {
        var path = Environment.ProcessPath ?? "dotnet";
        return Path.GetFileNameWithoutExtension(path) == "dotnet" ? ("dotnet", [typeof(Bench).Assembly.Location]) : (path, []);
    }

    internal static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    private static string FindRepoRoot()
    {
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "PolicyPoint.sln"))) return d.FullName;
        throw new InvalidOperationException("run from inside the PolicyPoint repository (PolicyPoint.sln not found)");
    }
}

/// <summary>A server child process: started, health-checked, sampled for RSS, stopped with SIGTERM.</summary>
internal sealed class Server
{
    private readonly Process _process;
    private long _peakRss;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _sampler;

    private Server(Process process, int port)
    {
        _process = process;
        Port = port;
        _sampler = Task.Run(SampleAsync);
    }

    public int Port { get; }

    /// <summary>CPU seconds (user + system) the server process has used so far; NaN when unreadable.</summary>
    public double CpuSeconds
    {
        get
        {
            try
            {
                _process.Refresh();
                return _process.TotalProcessorTime.TotalSeconds;
            }
            catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception or NotSupportedException)
            {
                return double.NaN;
            }
        }
    }

    /// <summary>Peak resident set size seen (max of sampled VmRSS and the kernel's VmHWM), in bytes.</summary>
    public long PeakRssBytes => Math.Max(Interlocked.Read(ref _peakRss), ReadStatus("VmHWM"));

    public static async Task<Server> StartAsync(string exe, string[] args, int port, IEnumerable<KeyValuePair<string, string>>? environment = null)
    {
        var psi = new ProcessStartInfo(exe) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var (k, v) in environment ?? []) psi.Environment[k] = v;
        foreach (var a in args) psi.ArgumentList.Add(a);
        var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {exe}");
        var errors = new System.Collections.Concurrent.ConcurrentQueue<string>();
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) errors.Enqueue(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
        var health = new Health.HealthClient(channel);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (p.HasExited) throw new InvalidOperationException($"{exe} exited with {p.ExitCode}: {string.Join("\n", errors)}");
            try
            {
                var r = await health.CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(2));
                if (r.Status == HealthCheckResponse.Types.ServingStatus.Serving) return new Server(p, port);
            }
            catch (RpcException) { }
            await Task.Delay(200);
        }
        p.Kill();
        throw new TimeoutException($"{exe} did not become SERVING in 60 s: {string.Join("\n", errors)}");
    }

    private async Task SampleAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var rss = ReadStatus("VmRSS");
            if (rss > Interlocked.Read(ref _peakRss)) Interlocked.Exchange(ref _peakRss, rss);
            try { await Task.Delay(100, _stop.Token); } catch (OperationCanceledException) { }
        }
    }

    private long ReadStatus(string field)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
                if (line.StartsWith(field + ":", StringComparison.Ordinal))
                    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or InvalidOperationException) { }
        return 0;
    }

    public async Task StopAsync()
    {
        var peak = PeakRssBytes;
        Interlocked.Exchange(ref _peakRss, peak);
        _stop.Cancel();
        await _sampler;
        if (_process.HasExited) return;
        using (var term = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)])) await term!.WaitForExitAsync();
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try { await _process.WaitForExitAsync(wait.Token); }
        catch (OperationCanceledException) { _process.Kill(); }
    }
}

/// <summary>
/// The load itself: closed-loop callers, each sending the next Check when the previous one is answered, or (with
/// <see cref="BenchOptions.Rate"/>) an open-loop schedule of calls at a fixed rate.
/// </summary>
internal static class Load
{
    // Open loop: calls still unanswered beyond this many are not sent but counted as errors, so a server that
    // cannot keep up ends the run with errors instead of exhausting the generator's memory.
    private const int MaxInFlight = 20_000;

    /// <param name="databaseCpu">CPU seconds used so far by the database the server writes to, or null.</param>
    public static async Task<RunResult> RunAsync(string target, Server server, BenchOptions o, string runId, Func<double>? databaseCpu = null)
    {
        var channels = Enumerable.Range(0, o.Connections).Select(_ => GrpcChannel.ForAddress($"http://127.0.0.1:{server.Port}", new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true, PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan },
        })).ToArray();
        try
        {
            var clients = channels.Select(c => new AuthorizationService.AuthorizationServiceClient(c)).ToArray();
            var window = new Window();
            Task<Tally[]> load;
            if (o.Rate > 0)
            {
                // Warm up with the closed loop: a cold server (tier-0 code still being recompiled) falls behind any
                // fixed schedule and, once behind, is buried under the calls it queued. Then the schedule runs a
                // second before the window opens, so the window sees it steady.
                var warm = new Window();
                var warming = ClosedLoop(clients, o, runId, warm);
                await Task.Delay(TimeSpan.FromSeconds(o.WarmupSeconds));
                warm.Stop();
                await warming;
                load = OpenLoop(clients, o, runId, window);
                await Task.Delay(TimeSpan.FromSeconds(1));
            }
            else
            {
                load = ClosedLoop(clients, o, runId, window);
                await Task.Delay(TimeSpan.FromSeconds(o.WarmupSeconds));
            }
            var rssBefore = server.PeakRssBytes;
            var serverCpu0 = server.CpuSeconds;
            var dbCpu0 = databaseCpu?.Invoke() ?? double.NaN;
            var selfCpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            window.Open();
            var sw = Stopwatch.StartNew();
            await Task.Delay(TimeSpan.FromSeconds(o.DurationSeconds));
            window.Close();
            var seconds = sw.Elapsed.TotalSeconds;
            var serverCpu = server.CpuSeconds - serverCpu0;
            var dbCpu = (databaseCpu?.Invoke() ?? double.NaN) - dbCpu0;
            var selfCpu = (Process.GetCurrentProcess().TotalProcessorTime - selfCpu0).TotalSeconds;
            window.Stop();
            var results = await load;

            var all = results.SelectMany(r => r.Latencies).ToArray();
            Array.Sort(all);
            double Ms(double q) => all.Length == 0 ? double.NaN : all[Math.Min(all.Length - 1, (int)(q * all.Length))] * 1000.0 / Stopwatch.Frequency;
            var byDecision = new Dictionary<Decision, long>();
            foreach (var r in results)
                for (int d = 0; d < 4; d++)
                    if (r.Decisions[d] > 0) byDecision[(Decision)d] = byDecision.GetValueOrDefault((Decision)d) + r.Decisions[d];
            var result = new RunResult(target, all.Length, results.Sum(r => r.Errors), seconds, Ms(0.50), Ms(0.99), Ms(0.999),
                all.Length == 0 ? double.NaN : all[^1] * 1000.0 / Stopwatch.Frequency, Math.Max(rssBefore, server.PeakRssBytes), byDecision,
                serverCpu, selfCpu, dbCpu);
            Console.WriteLine($"{target}: {result.PerSecond:F0} Checks/s{(o.Rate > 0 ? $" (offered {o.Rate}/s)" : "")}, p50 {result.P50Ms:F2} ms, p99 {result.P99Ms:F2} ms, errors {result.Errors}, " +
                $"server CPU {result.ServerCpuMicrosPerCheck:F0} us/Check, generator CPU {result.GeneratorCpuMicrosPerCheck:F0} us/Check");
            return result;
        }
        finally
        {
            foreach (var c in channels) c.Dispose();
        }
    }

    /// <summary>When calls count: a call is measured when it started (closed loop) or was due (open loop) while open.</summary>
    private sealed class Window
    {
        private int _measuring, _stopped;
        public bool Measuring => Volatile.Read(ref _measuring) == 1;
        public bool Stopped => Volatile.Read(ref _stopped) == 1;
        public void Open() => Volatile.Write(ref _measuring, 1);
        public void Close() => Volatile.Write(ref _measuring, 0);
        public void Stop() => Volatile.Write(ref _stopped, 1);
    }

    /// <summary>One caller's (or one completion thread's) counts: latencies in Stopwatch ticks, decisions, errors.</summary>
    private sealed class Tally
    {
        public readonly List<long> Latencies = new(1 << 16);
        public readonly long[] Decisions = new long[4];
        public long Errors;

        public void Answered(long latencyTicks, Decision decision)
        {
            Latencies.Add(latencyTicks);
            Decisions[(int)decision]++;
        }
    }

    private static async Task<Tally[]> ClosedLoop(AuthorizationService.AuthorizationServiceClient[] clients, BenchOptions o, string runId, Window window)
    {
        var workers = Enumerable.Range(0, o.Concurrency).Select(i => Task.Run(async () =>
        {
            var client = clients[i % clients.Length];
            var tally = new Tally();
            long seq = 0;
            while (!window.Stopped)
            {
                var request = Request(runId, i, seq++, o.RequestIds);
                var t0 = Stopwatch.GetTimestamp();
                var measured = window.Measuring;
                try
                {
                    var r = await client.CheckAsync(request).ConfigureAwait(false);
                    if (measured) tally.Answered(Stopwatch.GetTimestamp() - t0, r.Decision);
                }
                catch (RpcException)
                {
                    if (measured) tally.Errors++;
                }
            }
            return tally;
        })).ToArray();
        return await Task.WhenAll(workers);
    }

    // The schedule: call n is due at start + n / rate. A dedicated thread sends every call that is due, then sleeps
    // about a millisecond; the requests are the closed loop's, call n playing caller n % concurrency.
    private static async Task<Tally[]> OpenLoop(AuthorizationService.AuthorizationServiceClient[] clients, BenchOptions o, string runId, Window window)
    {
        var tallies = new System.Collections.Concurrent.ConcurrentBag<Tally>();
        using var local = new ThreadLocal<Tally>(() => { var t = new Tally(); tallies.Add(t); return t; });
        var inFlight = 1;   // the dispatcher's own share, released when it ends
        var outstanding = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void Done()
        {
            if (Interlocked.Decrement(ref inFlight) == 0) outstanding.TrySetResult();
        }
        void Send(long n, long due)
        {
            var measured = window.Measuring;
            if (Volatile.Read(ref inFlight) > MaxInFlight)
            {
                if (measured) Interlocked.Increment(ref local.Value!.Errors);
                return;
            }
            Interlocked.Increment(ref inFlight);
            var caller = (int)(n % o.Concurrency);
            var call = clients[caller % clients.Length].CheckAsync(Request(runId, caller, n / o.Concurrency, o.RequestIds));
            call.ResponseAsync.ContinueWith(t =>
            {
                var latency = Stopwatch.GetTimestamp() - due;
                if (measured)
                {
                    var tally = local.Value!;
                    if (t.IsCompletedSuccessfully) tally.Answered(latency, t.Result.Decision);
                    else tally.Errors++;
                }
                call.Dispose();
                Done();
            }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
        var dispatcher = new Thread(() =>
        {
            var start = Stopwatch.GetTimestamp();
            long n = 0;
            while (!window.Stopped)
            {
                var now = Stopwatch.GetTimestamp();
                for (; ; n++)
                {
                    var due = start + (long)(n * (double)Stopwatch.Frequency / o.Rate);
                    if (due > now) break;
                    Send(n, due);
                }
                Thread.Sleep(1);
            }
            Done();
        }) { IsBackground = true, Name = "open-loop dispatcher" };
        dispatcher.Start();
        // Once a second: how far the server keeps up (calls in flight grow when it does not).
        using var progress = new Timer(_ => Console.Error.WriteLine($"  open loop: {Volatile.Read(ref inFlight) - 1} in flight"), null, 1000, 1000);
        await outstanding.Task;
        return [.. tallies];
    }

    // A typical MCP tools/call against the repository's rego/ library: agent x reading its workspace (granted), with
    // one call in 16 outside the granted folder (denied). Sessions rotate over 256 ids so the PDP's session cache and
    // input.session.history are exercised; the run id in the session id marks this run's rows.
    private static readonly Timestamp Issued = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(-1));
    private static readonly Timestamp Expires = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(50));

    private static CheckRequest Request(string runId, int worker, long seq, bool requestIds)
    {
        var path = seq % 16 == 15 ? $"/etc/bench/{seq % 100}.conf" : $"/tmp/policypoint-demo/workspace/docs/{seq % 100}.md";
        return new CheckRequest
        {
            RequestId = requestIds ? $"{runId}-{worker}-{seq}" : "",
            Workload = new Workload { SpiffeId = "spiffe://example.org/agent/x" },
            Tool = new Tool
            {
                Server = "filesystem", Name = "read_text_file",
                Arguments = new Struct { Fields = { ["path"] = Value.ForString(path) } },
                Annotations = { ["readOnlyHint"] = "true" },
            },
            Resource = new Resource { Type = "file", Id = path, Sensitivity = "internal" },
            Credential = new Credential { Id = $"jit-{worker}", Kind = CredentialKind.Jit, IssuedAt = Issued, ExpiresAt = Expires, Scopes = { "files:read" } },
            Session = new Session { SessionId = $"{runId}-s{(worker * 7 + seq / 50) % 256}" },
            Context = new Struct { Fields = { ["purpose"] = Value.ForString("support") } },
        };
    }
}

/// <summary>The floor: an AuthorizationService that answers ALLOW without any work, on HTTP/2 cleartext.</summary>
internal sealed class NoopServer : AuthorizationService.AuthorizationServiceBase
{
    private static readonly CheckResponse Allow = new() { DecisionId = Guid.Empty.ToString(), Decision = Decision.Allow, PolicyRevision = "noop" };

    public override Task<CheckResponse> Check(CheckRequest request, ServerCallContext context) => Task.FromResult(Allow);

    public static async Task<int> RunAsync(int port)
    {
        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port, l => l.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        // With no registered check the health service answers UNKNOWN; one always-healthy check makes it SERVING.
        builder.Services.AddGrpcHealthChecks().AddCheck("noop", () => Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Healthy());
        var app = builder.Build();
        app.MapGrpcService<NoopServer>();
        app.MapGrpcHealthChecksService();
        await app.RunAsync();
        return 0;
    }
}

internal static class Shell
{
    public static async Task<string> RunAsync(string exe, params string[] args)
    {
        var psi = new ProcessStartInfo(exe) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {exe}");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{exe} {string.Join(' ', args)} failed: {await stderr}");
        return await stdout;
    }
}
