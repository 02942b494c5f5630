using Microsoft.Extensions.Logging;

namespace PeerPatch.Node.Apt;

/// <summary>
/// The origins this machine's apt sources name (<see cref="AptOptions.AptSourcesDir"/>: sources.list,
/// sources.list.d/*.list and *.sources), read at first use and again when a file changes (checked at most every
/// <see cref="RecheckInterval"/>: a file's path, size and modification time), plus the admin's
/// <see cref="AptOptions.AptUpstreams"/>. Bounded: at most <see cref="MaxFiles"/> files of <see cref="MaxFileBytes"/>.
/// </summary>
internal sealed partial class AptSourcesList(AptOptions options, TimeProvider time, ILogger<AptSourcesList> logger)
{
    public const int MaxFiles = 256;
    public const long MaxFileBytes = 1 << 20;
    public static readonly TimeSpan RecheckInterval = TimeSpan.FromSeconds(5);

    private readonly Lock _lock = new();
    private readonly HashSet<RelayEndpoint> _admin = ParseAdmin(options);
    private HashSet<RelayEndpoint> _sources = [];
    private string _signature = "-";
    private long _checkedAt = long.MinValue;

    /// <summary>True when the admin listed this endpoint (the only way to relay to this machine's own addresses).</summary>
    public bool IsAdminListed(RelayEndpoint endpoint) => _admin.Contains(endpoint);

    /// <summary>True when apt's sources or the admin name this endpoint.</summary>
    public bool IsListed(RelayEndpoint endpoint) => _admin.Contains(endpoint) || Sources().Contains(endpoint);

    private HashSet<RelayEndpoint> Sources()
    {
        lock (_lock)
        {
            var now = time.GetTimestamp();
            if (_checkedAt != long.MinValue && time.GetElapsedTime(_checkedAt, now) < RecheckInterval)
            {
                return _sources;
            }

            _checkedAt = now;
            var files = Files();
            var signature = string.Join('|', files.Select(f => $"{f.FullName}:{f.Length}:{f.LastWriteTimeUtc.Ticks}"));
            if (signature == _signature)
            {
                return _sources;
            }

            var endpoints = new HashSet<RelayEndpoint>();
            foreach (var file in files)
            {
                if (file.Length > MaxFileBytes)
                {
                    Log.TooLarge(logger, file.FullName, file.Length);
                    continue;
                }

                try
                {
                    var text = File.ReadAllText(file.FullName);
                    endpoints.UnionWith(file.Extension == ".sources" ? AptSourcesParser.ParseDeb822(text) : AptSourcesParser.ParseOneLine(text));
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    Log.Unreadable(logger, file.FullName, e.Message);
                }
            }

            _signature = signature;
            _sources = endpoints;
            Log.Loaded(logger, endpoints.Count, files.Count, options.AptSourcesDir);
            return endpoints;
        }
    }

    private List<FileInfo> Files()
    {
        var dir = new DirectoryInfo(options.AptSourcesDir);
        var files = new List<FileInfo>();
        var list = new FileInfo(Path.Combine(dir.FullName, "sources.list"));
        if (list.Exists)
        {
            files.Add(list);
        }

        var parts = new DirectoryInfo(Path.Combine(dir.FullName, "sources.list.d"));
        if (parts.Exists)
        {
            try
            {
                files.AddRange(parts.EnumerateFiles().Where(f => f.Extension is ".list" or ".sources").OrderBy(f => f.Name, StringComparer.Ordinal).Take(MaxFiles - 1));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Log.Unreadable(logger, parts.FullName, e.Message);
            }
        }

        return files;
    }

    private static HashSet<RelayEndpoint> ParseAdmin(AptOptions options)
    {
        var set = new HashSet<RelayEndpoint>();
        foreach (var entry in options.AptUpstreams)
        {
            if (RelayEndpoint.TryParseEntry(entry, options.ConnectPorts, out var endpoints))
            {
                set.UnionWith(endpoints);
            }
        }

        return set;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 850, Level = LogLevel.Information, Message = "apt proxy: {Count} origins from {Files} apt source files in {Dir}")]
        public static partial void Loaded(ILogger logger, int count, int files, string dir);

        [LoggerMessage(EventId = 851, Level = LogLevel.Warning, Message = "apt proxy: {File} skipped: {Bytes} bytes is over the limit")]
        public static partial void TooLarge(ILogger logger, string file, long bytes);

        [LoggerMessage(EventId = 852, Level = LogLevel.Warning, Message = "apt proxy: {File} could not be read: {Error}")]
        public static partial void Unreadable(ILogger logger, string file, string error);
    }
}
