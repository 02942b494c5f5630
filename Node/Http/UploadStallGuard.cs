using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace PeerPatch.Node.Http;

/// <summary>
/// Bounds how long one blob GET waits for its client to take bytes: armed while a chunk is being written or flushed
/// to the connection, disarmed when that returns; left armed for <see cref="HttpOptions.UploadStallTimeout"/>, it
/// aborts the connection, which ends the write and frees the upload slot. Kestrel's own MinResponseDataRate cannot do
/// this here: it credits every byte already accepted into the socket buffers (megabytes on a fast link), so for a
/// client that stops reading after a few megabytes it fires only after hours.
/// </summary>
internal sealed partial class UploadStallGuard : IDisposable
{
    private readonly HttpContext _ctx;
    private readonly TimeSpan _bound;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new(); // Fire against Dispose: never abort a context Kestrel may already reuse
    private ITimer? _timer; // made on the first write: a HEAD, a 304 or a 404 never needs one
    private bool _armed;
    private bool _disposed;
    private bool _fired;

    public UploadStallGuard(HttpContext ctx, TimeSpan bound, TimeProvider time, ILogger logger) =>
        (_ctx, _bound, _time, _logger) = (ctx, bound, time, logger);

    /// <summary>A write to the client begins.</summary>
    public void Arm()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _armed = true;
            _timer ??= _time.CreateTimer(static s => ((UploadStallGuard)s!).Fire(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            _timer.Change(_bound, Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>The write returned.</summary>
    public void Disarm()
    {
        lock (_lock)
        {
            _armed = false;
            _timer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            _timer?.Dispose();
        }
    }

    private void Fire()
    {
        lock (_lock)
        {
            if (_disposed || !_armed || _fired)
            {
                return;
            }

            _fired = true;
            Log.Stalled(_logger, _ctx.Connection.RemoteIpAddress?.ToString() ?? "?", _ctx.Request.Path.Value ?? "", _bound.TotalSeconds);
            _ctx.Abort();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 504, Level = LogLevel.Warning, Message = "blob GET {Path} from {Client} aborted: the client took no bytes for {Seconds} s (UploadStallTimeout); its upload slot is free again")]
        public static partial void Stalled(ILogger logger, string client, string path, double seconds);
    }
}
