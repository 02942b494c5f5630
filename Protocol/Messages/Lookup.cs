using MessagePack;

namespace PeerPatch.Protocol.Messages;

/// <summary>Asks the server for one patch.</summary>
/// <param name="OsVersion">OS version key of the asking node.</param>
/// <param name="PatchName">The patch's name as the upstream list gives it (data, not a path).</param>
/// <param name="ExpectedSha256">The hash from the upstream list, when known; a record with another hash is not a hit.</param>
/// <param name="ExpectedSize">The size from the upstream list, or -1.</param>
/// <param name="NodeId">The asking node; a claim is granted to it.</param>
/// <param name="CompactHit">
/// The asker reads a compact hit (<see cref="LookupResult.Expand"/>): the server's own path and its own entry among the
/// sources left out. A server that does not know this key skips it and answers in full.
/// </param>
[MessagePackObject]
public sealed record Lookup(
    [property: Key(0)] string OsVersion,
    [property: Key(1)] string PatchName,
    [property: Key(2)] string? ExpectedSha256,
    [property: Key(3)] long ExpectedSize,
    [property: Key(4)] string NodeId,
    [property: Key(5)] bool CompactHit = false) : IMessage
{
    /// <inheritdoc />
    public bool IsValid() =>
        WireFormat.IsOsVersion(OsVersion) && WireFormat.IsPatchName(PatchName)
        && (ExpectedSha256 is null || WireFormat.IsSha256(ExpectedSha256))
        && (ExpectedSize == -1 || WireFormat.IsSize(ExpectedSize)) && WireFormat.IsNodeId(NodeId);
}
