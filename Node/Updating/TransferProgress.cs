namespace PeerPatch.Node.Updating;

/// <summary>One progress line of POST /v1/update: <see cref="Stage"/> is one of <see cref="ProgressStage"/>.</summary>
internal sealed record TransferProgress(string Patch, string Stage, long Bytes, long Total);
