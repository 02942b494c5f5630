using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using PeerPatch.Node.Primitives;

namespace PeerPatch.Node.Http;

/// <summary>
/// Caps the HTTP connections one address holds open at once (<see cref="HttpOptions.MaxConnectionsPerClient"/>), so one
/// PC (or a slowloris) cannot use up the server's 4,096: a connection over the cap is closed before a byte is read.
/// A connection the redirect listener relays counts against the PC it carries (<see cref="RelayedClients"/>).
/// Kestrel's own limits do the rest: header size and time, minimum body rate, keep-alive timeout.
/// </summary>
internal sealed partial class ConnectionLimiter(HttpOptions options, NodeStats stats, RelayedClients relayed, ILogger<ConnectionLimiter> logger)
{
    private readonly ConcurrentDictionary<IPAddress, int> _open = new();

    public async Task OnConnectionAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        if (connection.RemoteEndPoint is not IPEndPoint remote || options.MaxConnectionsPerClient <= 0)
        {
            await next(connection).ConfigureAwait(false);
            return;
        }

        var address = relayed.ClientOf(remote); // a PC behind the port-80 relay counts as itself
        var count = _open.AddOrUpdate(address, 1, (_, n) => n + 1);
        try
        {
            if (count > options.MaxConnectionsPerClient)
            {
                stats.ConnectionRefused();
                if (count == options.MaxConnectionsPerClient + 1)
                {
                    Log.OverLimit(logger, address, options.MaxConnectionsPerClient);
                }

                connection.Abort(new ConnectionAbortedException($"more than {options.MaxConnectionsPerClient} connections from {address}"));
                return;
            }

            await next(connection).ConfigureAwait(false);
        }
        finally
        {
            if (_open.AddOrUpdate(address, 0, (_, n) => n - 1) <= 0)
            {
                _open.TryRemove(new KeyValuePair<IPAddress, int>(address, 0));
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1110, Level = LogLevel.Warning, Message = "{Address} holds more than {Limit} HTTP connections: closing the extra ones")]
        public static partial void OverLimit(ILogger logger, IPAddress address, int limit);
    }
}
