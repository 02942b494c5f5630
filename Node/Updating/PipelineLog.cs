using Microsoft.Extensions.Logging;

namespace PeerPatch.Node.Updating;

/// <summary>The log lines of <see cref="PatchPipeline"/> and its steps (category PatchPipeline; event ids 410-423).</summary>
internal static partial class PipelineLog
{
    [LoggerMessage(EventId = 410, Level = LogLevel.Information, Message = "applied {Patch} ({Bytes} bytes from {From})")]
    public static partial void Applied(ILogger logger, string patch, string from, long bytes);

    [LoggerMessage(EventId = 421, Level = LogLevel.Information, Message = "dry run: {Patch} obtained from {From} and verified; not applied")]
    public static partial void DryRun(ILogger logger, string patch, string from);

    [LoggerMessage(EventId = 409, Level = LogLevel.Warning, Message = "{Patch}: its apply command succeeded, but recording it as applied failed; the next pass may apply it again")]
    public static partial void NotRecorded(ILogger logger, string patch, Exception error);

    [LoggerMessage(EventId = 411, Level = LogLevel.Error, Message = "{Patch} failed: {Error}")]
    public static partial void Failed(ILogger logger, string patch, string? error);

    [LoggerMessage(EventId = 412, Level = LogLevel.Warning, Message = "{Patch}: falling back to the internet: {Reason}")]
    public static partial void Fallback(ILogger logger, string patch, string reason);

    [LoggerMessage(EventId = 413, Level = LogLevel.Information, Message = "{Patch}: LAN miss, downloading {Url} under claim {ClaimId}")]
    public static partial void Downloading(ILogger logger, string patch, Uri url, ulong claimId);

    [LoggerMessage(EventId = 414, Level = LogLevel.Debug, Message = "{Patch}: another node is downloading ({Bytes} bytes so far), asking again in {Wait:0} ms")]
    public static partial void Waiting(ILogger logger, string patch, long bytes, double wait);

    [LoggerMessage(EventId = 415, Level = LogLevel.Information, Message = "{Patch}: pushed to {Server}")]
    public static partial void Pushed(ILogger logger, string patch, string server);

    [LoggerMessage(EventId = 416, Level = LogLevel.Warning, Message = "{Patch}: push to {Server} failed: {Error}")]
    public static partial void PushFailed(ILogger logger, string patch, string server, string error);

    [LoggerMessage(EventId = 417, Level = LogLevel.Warning, Message = "claim {ClaimId} was revoked by the server; finishing the download anyway")]
    public static partial void ClaimLost(ILogger logger, ulong claimId);

    [LoggerMessage(EventId = 419, Level = LogLevel.Information, Message = "{Patch}: server {Old} is gone; asking the newly elected {New}")]
    public static partial void ServerChanged(ILogger logger, string patch, string old, string @new);

    [LoggerMessage(EventId = 422, Level = LogLevel.Information, Message = "{Patch}: streamed from {Server} as it was downloaded ({Bytes} bytes)")]
    public static partial void Streamed(ILogger logger, string patch, string server, long bytes);

    [LoggerMessage(EventId = 423, Level = LogLevel.Warning, Message = "{Patch}: the cut-through stream failed ({Error}); {Failures} of {Max} allowed, asking again")]
    public static partial void StreamFailed(ILogger logger, string patch, string error, int failures, int max);

    [LoggerMessage(EventId = 428, Level = LogLevel.Information, Message = "{Patch}: the LAN server changed from {Old} to {New} during the download; claim {ClaimId} and its push follow")]
    public static partial void ClaimFollows(ILogger logger, string patch, ulong claimId, string old, string @new);

    [LoggerMessage(EventId = 429, Level = LogLevel.Information, Message = "{Patch}: {Reason}; giving the LAN up to {Left:0.#} s more to answer before the internet")]
    public static partial void Patient(ILogger logger, string patch, string reason, double left);

    [LoggerMessage(EventId = 418, Level = LogLevel.Debug, Message = "renewing claim {ClaimId} failed: {Error}")]
    public static partial void RenewFailed(ILogger logger, ulong claimId, string error);

    [LoggerMessage(EventId = 444, Level = LogLevel.Debug, Message = "claim {ClaimId}: renewed by {Server} at {Bytes} bytes, the answer after {Elapsed:0} ms")]
    public static partial void Renewed(ILogger logger, ulong claimId, string server, long bytes, double elapsed);

    [LoggerMessage(EventId = 446, Level = LogLevel.Debug, Message = "claim {ClaimId}: {Server} no longer renews it after the download (the push landed, or the claim lapsed)")]
    public static partial void ClaimEnded(ILogger logger, ulong claimId, string server);

    [LoggerMessage(EventId = 445, Level = LogLevel.Debug, Message = "claim {ClaimId}: the renewal to {Server} left unanswered after {Elapsed:0} ms: the LAN's view changed, renewing again")]
    public static partial void RenewAbandoned(ILogger logger, ulong claimId, string server, double elapsed);

    [LoggerMessage(EventId = 470, Level = LogLevel.Information, Message = "{Patch}: held by policy ({Reason})")]
    public static partial void Held(ILogger logger, string patch, string reason);

    [LoggerMessage(EventId = 426, Level = LogLevel.Information, Message = "{Patch}: LAN source {PeerId} failed ({Error}); trying the next one")]
    public static partial void SourceFailed(ILogger logger, string patch, string peerId, string error);

    [LoggerMessage(EventId = 427, Level = LogLevel.Debug, Message = "{Patch}: another node is downloading it ({Bytes} bytes); set aside while this pass starts its other patches")]
    public static partial void SetAside(ILogger logger, string patch, long bytes);

    [LoggerMessage(EventId = 449, Level = LogLevel.Warning, Message = "{Patch}: not marked in use for its push to the server ({Error}); the store may evict it before the push reads it")]
    public static partial void NotMarkedInUse(ILogger logger, string patch, string error);
}
