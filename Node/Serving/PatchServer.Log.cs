using System.Net;
using Microsoft.Extensions.Logging;

namespace PeerPatch.Node.Serving;

internal sealed partial class PatchServer
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 300, Level = LogLevel.Information, Message = "node {PeerId} at {EndPoint} joined ({Os}, v{Version})")]
        public static partial void Hello(ILogger logger, string peerId, IPEndPoint endPoint, string os, string version);

        [LoggerMessage(EventId = 301, Level = LogLevel.Information, Message = "miss for {Patch}: claim {ClaimId} granted to {PeerId}")]
        public static partial void ClaimGranted(ILogger logger, string patch, string peerId, ulong claimId);

        [LoggerMessage(EventId = 305, Level = LogLevel.Debug, Message = "miss for {Patch} from {PeerId} queued: the LAN is already downloading {Max} patches at once")]
        public static partial void ClaimQueued(ILogger logger, string patch, string peerId, int max);

        [LoggerMessage(EventId = 306, Level = LogLevel.Debug, Message = "claim {ClaimId} renewal at {Bytes} bytes: {Outcome}")]
        public static partial void ClaimRenewed(ILogger logger, ulong claimId, long bytes, string outcome);

        [LoggerMessage(EventId = 302, Level = LogLevel.Information, Message = "claim {ClaimId} released: {Reason}")]
        public static partial void ClaimReleased(ILogger logger, ulong claimId, string? reason);

        [LoggerMessage(EventId = 304, Level = LogLevel.Information, Message = "claim {ClaimId} for {Patch} adopted from {PeerId} ({Bytes} bytes downloaded): granted by the previous server")]
        public static partial void ClaimAdopted(ILogger logger, string patch, string peerId, ulong claimId, long bytes);

        [LoggerMessage(EventId = 303, Level = LogLevel.Information, Message = "miss for {Patch} from {PeerId} held by policy: {Reason}")]
        public static partial void Held(ILogger logger, string patch, string peerId, string reason);
    }
}
