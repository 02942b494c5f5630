using Microsoft.Extensions.Logging;

namespace PeerPatch.Node.Transfer;

internal sealed partial class SwarmFetcher
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 480, Level = LogLevel.Warning, Message = "bad piece from peer {PeerId} ({Address}) for {PatchHash}: piece {Piece}: {Detail}")]
        public static partial void BadPiece(ILogger logger, string peerId, string address, string patchHash, int piece, string detail);

        [LoggerMessage(EventId = 481, Level = LogLevel.Information, Message = "dropped LAN source {PeerId} ({Address}) for {PatchHash}: {Reason}")]
        public static partial void Dropped(ILogger logger, string peerId, string address, string patchHash, string reason);

        [LoggerMessage(EventId = 482, Level = LogLevel.Debug, Message = "piece {Piece} of {PatchHash} from {PeerId} failed, retried elsewhere: {Detail}")]
        public static partial void PieceFailed(ILogger logger, string peerId, string patchHash, int piece, string detail);

        [LoggerMessage(EventId = 483, Level = LogLevel.Information, Message = "fetched {PatchHash} in {Pieces} pieces from {Sources} LAN source(s), {Bytes} bytes on the wire")]
        public static partial void Done(ILogger logger, string patchHash, int pieces, int sources, long bytes);

        [LoggerMessage(EventId = 484, Level = LogLevel.Warning, Message = "piece fetch of {PatchHash} failed: {Reason}")]
        public static partial void Failed(ILogger logger, string patchHash, string reason);

        [LoggerMessage(EventId = 485, Level = LogLevel.Information, Message = "waiting for busy LAN sources of {PatchHash} ({Busy} answering 503), up to {Bound:0.#} s, before the internet")]
        public static partial void WaitingForBusy(ILogger logger, string patchHash, int busy, double bound);

        [LoggerMessage(EventId = 488, Level = LogLevel.Information, Message = "the LAN sources listed for {PatchHash} ({Busy}) all stayed busy for {Seconds:0.#} s before a piece: asking the server for the holders of the moment")]
        public static partial void AskingAgain(ILogger logger, string patchHash, int busy, double seconds);

        [LoggerMessage(EventId = 487, Level = LogLevel.Warning, Message = "LAN holders of {PatchHash} serve {Lists} different piece lists (holders by list: {Holders}); each list is fetched by only from its own holders, the most common first")]
        public static partial void ListsDisagree(ILogger logger, string patchHash, int lists, string holders);

        [LoggerMessage(EventId = 489, Level = LogLevel.Debug, Message = "LAN source {PeerId} now serves the piece list of {PatchHash} (ask {Asks} after its 404): fetching from it too")]
        public static partial void Rejoined(ILogger logger, string peerId, string patchHash, int asks);

        [LoggerMessage(EventId = 490, Level = LogLevel.Debug, Message = "LAN source {PeerId} serves another holder's piece list of {PatchHash}: it leaves this run for that list's, if that list is tried")]
        public static partial void LeftForAnotherList(ILogger logger, string peerId, string patchHash);

        [LoggerMessage(EventId = 486, Level = LogLevel.Debug, Message = "endgame for {PatchHash}: piece {Piece} is slow from {PeerId}, asked of {OtherPeerId} too")]
        public static partial void Endgame(ILogger logger, string patchHash, int piece, string peerId, string otherPeerId);
    }
}
