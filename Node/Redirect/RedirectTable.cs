using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace PeerPatch.Node.Redirect;

/// <summary>
/// The domains the hosts file's PeerPatch block redirects (re-read every 2 s, so `peerpatch redirect enable`
/// takes effect without a restart). An unreadable hosts file means no redirects.
/// </summary>
internal sealed partial class RedirectTable(RedirectOptions options, TimeProvider time, ILogger<RedirectTable> logger) : BackgroundService
{
    private volatile HashSet<string> _domains = new(StringComparer.OrdinalIgnoreCase);

    public bool Any => _domains.Count > 0;

    /// <summary>Raised when the set of domains changes.</summary>
    public event Action? Changed;

    public bool IsRedirected(string host) => _domains.Contains(host);

    internal void Reload()
    {
        HashSet<string> domains;
        try
        {
            domains = HostsFile.Entries(HostsFile.Read(options.HostsFile)).Select(e => e.Domain).ToHashSet(StringComparer.OrdinalIgnoreCase);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.Unreadable(logger, options.HostsFile, e.Message);
            return;
        }

        if (!domains.SetEquals(_domains))
        {
            _domains = domains;
            Log.Domains(logger, domains.Count, string.Join(", ", domains));
            Changed?.Invoke();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(2), time);
            do
            {
                Reload();
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 820, Level = LogLevel.Information, Message = "redirected domains ({Count}): {Domains}")]
        public static partial void Domains(ILogger logger, int count, string domains);

        [LoggerMessage(EventId = 821, Level = LogLevel.Warning, Message = "hosts file {Path} unreadable: {Error}")]
        public static partial void Unreadable(ILogger logger, string path, string error);
    }
}
