using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Pdp.Policy;

namespace Pdp.Bundles;

/// <summary>
/// Loads the bundle at start-up and reloads it when it changes: a <see cref="FileSystemWatcher"/> signals changes,
/// a polling loop compares a fingerprint of the files (paths, sizes, modification times) as a fallback for file
/// systems without notifications, and bursts of changes are debounced into one reload. A reload reads and compiles
/// the new bundle fully, then swaps it in; on any failure the serving policy stays and the reason is logged.
/// </summary>
public sealed class BundleWatcher : BackgroundService
{
    private readonly string _path;
    private readonly EmbeddedPolicyEngine _engine;
    private readonly ILogger<BundleWatcher> _logger;
    private readonly TimeSpan _pollInterval;
    private readonly TimeSpan _debounce;
    private int _dirty;
    private long _lastChangeTicks;
    private readonly SemaphoreSlim _reloadLock = new(1, 1);
    private FileSystemWatcher? _watcher;
    private string _fingerprint = "";

    /// <param name="path">Bundle directory or .tar.gz file.</param>
    /// <param name="engine">The engine whose policy is replaced.</param>
    /// <param name="logger">Where load results go.</param>
    /// <param name="pollInterval">Fallback polling period (default 2 s).</param>
    /// <param name="debounce">Quiet time after the last change before reloading (default 250 ms).</param>
    public BundleWatcher(string path, EmbeddedPolicyEngine engine, ILogger<BundleWatcher> logger,
        TimeSpan? pollInterval = null, TimeSpan? debounce = null)
    {
        _path = Path.GetFullPath(path);
        _engine = engine;
        _logger = logger;
        _pollInterval = pollInterval ?? TimeSpan.FromSeconds(2);
        _debounce = debounce ?? TimeSpan.FromMilliseconds(250);
    }

    /// <summary>The last load error (file or compile), or null when the last attempt succeeded.</summary>
    public string? LastError { get; private set; }

    /// <summary>How many bundles were loaded successfully since start.</summary>
    public int LoadCount { get; private set; }

    /// <summary>How many reload attempts failed since start.</summary>
    public int FailureCount { get; private set; }

    /// <summary>Reads, compiles and installs the bundle now. Returns true when it is serving; never throws.</summary>
    public async Task<bool> ReloadAsync(CancellationToken cancellationToken = default)
    {
        await _reloadLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _fingerprint = Fingerprint();
            // Reading and compiling are CPU-bound; keep them off the request threads' synchronization context.
            var loaded = await Task.Run(() => _engine.LoadFrom(_path), cancellationToken).ConfigureAwait(false);
            LastError = null;
            LoadCount++;
            _logger.LogInformation("Policy bundle loaded from {Source}, revision {Revision}", loaded.Source, loaded.Revision);
            return true;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested) { throw; }
        catch (Exception e)
        {
            LastError = e.Message;
            FailureCount++;
            _logger.LogError("Policy bundle from {Path} not loaded, still serving revision {Revision}: {Error}",
                _path, _engine.Revision is { Length: > 0 } r ? r : "(none)", e.Message);
            return false;
        }
        finally
        {
            _reloadLock.Release();
        }
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await ReloadAsync(stoppingToken).ConfigureAwait(false);
        StartWatcher();
        // A short tick drives both the debounce and the polling fallback; each tick is a few field reads.
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        var lastPoll = DateTime.UtcNow;
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                var now = DateTime.UtcNow;
                if (now - lastPoll >= _pollInterval)
                {
                    lastPoll = now;
                    if (Fingerprint() != _fingerprint) MarkChanged();
                }
                if (Volatile.Read(ref _dirty) == 1 && now.Ticks - Interlocked.Read(ref _lastChangeTicks) >= _debounce.Ticks)
                {
                    Interlocked.Exchange(ref _dirty, 0);
                    await ReloadAsync(stoppingToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
    }

    private void MarkChanged()
    {
        Interlocked.Exchange(ref _lastChangeTicks, DateTime.UtcNow.Ticks);
        Interlocked.Exchange(ref _dirty, 1);
    }

    private void StartWatcher()
    {
        try
        {
            var isDir = Directory.Exists(_path);
            var dir = isDir ? _path : Path.GetDirectoryName(_path)!;
            var watcher = new FileSystemWatcher(dir)
            {
                IncludeSubdirectories = isDir,
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size,
            };
            if (!isDir) watcher.Filter = Path.GetFileName(_path);
            FileSystemEventHandler onChange = (_, _) => MarkChanged();
            watcher.Changed += onChange;
            watcher.Created += onChange;
            watcher.Deleted += onChange;
            watcher.Renamed += (_, _) => MarkChanged();
            watcher.Error += (_, e) => _logger.LogWarning("Bundle file watcher error, polling continues: {Error}", e.GetException().Message);
            watcher.EnableRaisingEvents = true;
            _watcher = watcher;
        }
        catch (Exception e) when (e is IOException or ArgumentException or PlatformNotSupportedException or UnauthorizedAccessException)
        {
            _logger.LogWarning("Bundle file watcher unavailable, polling every {Interval}: {Error}", _pollInterval, e.Message);
        }
    }

    /// <summary>Paths, sizes and modification times of the bundle's files: cheap to compute, changes with any edit.</summary>
    private string Fingerprint()
    {
        try
        {
            var sb = new StringBuilder();
            if (Directory.Exists(_path))
            {
                foreach (var f in Directory.EnumerateFiles(_path, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
                {
                    var info = new FileInfo(f);
                    sb.Append(f).Append('|').Append(info.Length).Append('|').Append(info.LastWriteTimeUtc.Ticks).Append('\n');
                }
            }
            else if (File.Exists(_path))
            {
                var info = new FileInfo(_path);
                sb.Append(info.Length).Append('|').Append(info.LastWriteTimeUtc.Ticks);
            }
            return sb.ToString();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "unreadable:" + e.Message;
        }
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        _watcher?.Dispose();
        base.Dispose();
    }
}
