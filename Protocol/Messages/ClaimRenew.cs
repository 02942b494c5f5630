using MessagePack;

namespace PeerPatch.Protocol.Messages;

/// <summary>
/// The claim holder is still downloading; <paramref name="BytesDone"/> shows progress (a stalled claim is not renewed).
/// The patch it downloads (keys 2 to 6, absent from older nodes) lets a server that did not grant the claim (elected
/// while the download ran, or restarted) adopt it instead of granting the same patch to another node.
/// </summary>
/// <param name="ClaimId">The claim, as the granting server numbered it.</param>
/// <param name="BytesDone">Bytes downloaded so far.</param>
/// <param name="OsVersion">The claimed patch's OS version key, as in its <see cref="Lookup"/>; null from an older node.</param>
/// <param name="PatchName">The claimed patch's name (data, not a path); null from an older node.</param>
/// <param name="Sha256">The hash the upstream list gives for it; null from an older node.</param>
/// <param name="Size">Its size from the upstream list, or -1 when unknown (0 from an older node, which sends no patch).</param>
/// <param name="NodeId">The holder; null from an older node.</param>
[MessagePackObject]
public sealed record ClaimRenew(
    [property: Key(0)] ulong ClaimId,
    [property: Key(1)] long BytesDone,
    [property: Key(2)] string? OsVersion = null,
    [property: Key(3)] string? PatchName = null,
    [property: Key(4)] string? Sha256 = null,
    [property: Key(5)] long Size = 0,
    [property: Key(6)] string? NodeId = null) : IMessage
{
    /// <summary>True when the renewal names its patch and holder (all of keys 2 to 6).</summary>
    public bool NamesPatch() => Sha256 is not null;

    /// <inheritdoc />
    public bool IsValid() =>
        ClaimId != 0 && WireFormat.IsSize(BytesDone)
        && (OsVersion is null && PatchName is null && Sha256 is null && NodeId is null
            || WireFormat.IsOsVersion(OsVersion) && WireFormat.IsPatchName(PatchName) && WireFormat.IsSha256(Sha256)
               && (Size == -1 || WireFormat.IsSize(Size)) && WireFormat.IsNodeId(NodeId));
}
