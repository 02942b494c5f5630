using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using PeerPatch.Protocol;

namespace PeerPatch.Node.Transport;

internal sealed partial class LanTransport
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 200, Level = LogLevel.Information, Message = "LAN transport listening on udp {Bind}:{Port}")]
        public static partial void Started(ILogger logger, string bind, int port);

        [LoggerMessage(EventId = 201, Level = LogLevel.Debug, Message = "dropped datagram from {PeerId}: {Error} {Detail}")]
        public static partial void BadDatagram(ILogger logger, IPEndPoint peerId, DecodeError error, string? detail);

        [LoggerMessage(EventId = 202, Level = LogLevel.Warning, Message = "request handler failed for {PeerId}")]
        public static partial void HandlerFailed(ILogger logger, IPEndPoint peerId, Exception exception);

        [LoggerMessage(EventId = 204, Level = LogLevel.Debug, Message = "dropped unauthenticated traffic from {EndPoint}: {Reason}")]
        public static partial void Unauthenticated(ILogger logger, IPEndPoint endPoint, string reason);

        [LoggerMessage(EventId = 205, Level = LogLevel.Warning, Message = "a turn of the LAN transport's pump failed (it goes on)")]
        public static partial void PumpFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 203, Level = LogLevel.Debug, Message = "network error from {EndPoint}: {Error}")]
        public static partial void NetworkError(ILogger logger, IPEndPoint endPoint, SocketError error);
    }
}
