using System.Net;
using Microsoft.Extensions.Logging;

namespace PeerPatch.Node.Discovery;

internal sealed partial class MdnsResponder
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 610, Level = LogLevel.Information, Message = "mDNS instance name taken; now advertising as {Instance}")]
        public static partial void Renamed(ILogger logger, string instance);

        [LoggerMessage(EventId = 611, Level = LogLevel.Warning, Message = "mDNS: {From} answers for our instance {Instance} with other data")]
        public static partial void Conflict(ILogger logger, string instance, IPEndPoint from);

        [LoggerMessage(EventId = 612, Level = LogLevel.Debug, Message = "mDNS response failed: {Error}")]
        public static partial void RespondFailed(ILogger logger, string error);
    }
}
