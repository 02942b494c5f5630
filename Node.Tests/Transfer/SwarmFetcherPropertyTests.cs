using FsCheck;
using FsCheck.Fluent;

namespace PeerPatch.Node.Tests.Transfer;

/// <summary>
/// <see cref="Node.Transfer.SwarmFetcher"/> over blob sizes around piece boundaries and random holder behaviours:
/// the blob is committed exactly when at least one holder is good, and a committed blob always has the upstream hash.
/// </summary>
[Trait("Category", "Network")]
public sealed class SwarmFetcherPropertyTests : IAsyncLifetime
{
    private const int Piece = 64 * 1024;
    private FakeSources _sources = null!;

    public async Task InitializeAsync() => _sources = await FakeSources.StartAsync(4);

    public async Task DisposeAsync() => await _sources.DisposeAsync();

    [Fact]
    public void CommittedIffOneHolderIsGood_AndACommittedBlobHasTheUpstreamHash()
    {
        var sizes = Gen.OneOf(
            Gen.Elements(1, Piece - 1, Piece, Piece + 1, (2 * Piece) - 1, 2 * Piece, (2 * Piece) + 1, 3 * Piece),
            Gen.Choose(1, 5 * Piece));
        var modes = Gen.Elements(SourceMode.Good, SourceMode.BadPiece, SourceMode.NotFound, SourceMode.DieMidBody, SourceMode.BadList);
        var cases =
            from size in sizes
            from holders in Gen.Choose(1, 4).SelectMany(n => Gen.ArrayOf(modes, n))
            from badPiece in Gen.Choose(0, 5)
            from seed in Gen.Choose(0, 1000)
            select (size, holders, badPiece, seed);
        Prop.ForAll(cases.ToArbitrary(), c => Task.Run(() => CheckAsync(c.size, c.holders, c.badPiece, c.seed)).GetAwaiter().GetResult())
            .Check(Config.QuickThrowOnFailure.WithMaxTest(25));
    }

    /// <summary>
    /// A piece is gathered in buffers of 64 KiB from reads of any size: pieces of 1 to 3 buffers and a ragged tail, from
    /// holders whose bodies come in random bits of 1 to 3,000 bytes, one of them perhaps corrupting a piece. Each piece is
    /// checked whole (a bad one is fetched elsewhere), the bytes counted are no more than the sources sent (counted once),
    /// and the blob commits with the upstream hash. (That reads are gathered, fewer writes, is a cost measured in the
    /// fleet benchmark, not here.)
    /// </summary>
    [Fact]
    public void RaggedReads_VerifyEveryPiece_CountEachByteOnce_AndCommitWithTheUpstreamHash()
    {
        var cases =
            from pieceSize in Gen.Elements(Piece, 2 * Piece, 3 * Piece)
            from size in Gen.Choose(1, 3 * 3 * Piece)
            from bad in Gen.Elements(false, true)
            from badPiece in Gen.Choose(0, 8)
            from seed in Gen.Choose(0, 1000)
            select (pieceSize, size, bad, badPiece, seed);
        Prop.ForAll(cases.ToArbitrary(), c => Task.Run(() => CheckRaggedAsync(c.pieceSize, c.size, c.bad, c.badPiece, c.seed)).GetAwaiter().GetResult())
            .Check(Config.QuickThrowOnFailure.WithMaxTest(20));
    }

    private async Task<bool> CheckRaggedAsync(int pieceSize, int size, bool bad, int badPiece, int seed)
    {
        using var rig = new SwarmRig(TimeSpan.FromSeconds(5));
        _sources.BadPiece = badPiece;
        _sources.Set(SwarmRig.Bytes(size, seed), pieceSize, bad ? SourceMode.BadPiece : SourceMode.Ragged, SourceMode.Ragged);

        var result = await rig.FetchAsync(_sources);

        Assert.True(result.Ok, $"{size} bytes in pieces of {pieceSize}: {result.Error}");
        Assert.Equal(_sources.Sha256, rig.StoredSha(_sources.Sha256));
        Assert.Equal(result.Bytes, rig.Stats.LanBytesFetched);
        Assert.InRange(result.Bytes, size, _sources.BodyBytesSent);
        Assert.Equal(0, rig.TempFiles);
        return true;
    }

    private async Task<bool> CheckAsync(int size, SourceMode[] holders, int badPiece, int seed)
    {
        using var rig = new SwarmRig(TimeSpan.FromSeconds(2));
        _sources.BadPiece = badPiece;
        _sources.Set(SwarmRig.Bytes(size, seed), Piece, holders);

        var result = await rig.FetchAsync(_sources);

        // A holder with a bad list serves right bytes: it is good unless it was asked for the list and dropped for it.
        // The server (the last holder here) is asked first; when it serves a valid list nobody else is asked, and when
        // it does not, every other holder is.
        var server = holders.Length - 1;
        var serverListValid = holders[server] is not (SourceMode.NotFound or SourceMode.BadList);
        var anyGood = holders.Contains(SourceMode.Good)
            || (serverListValid && holders.Take(server).Contains(SourceMode.BadList));
        Assert.True(result.Ok == anyGood, $"{size} bytes from [{string.Join(", ", holders)}]: {result.Error}");
        Assert.Equal(anyGood, rig.Store.Contains(_sources.Sha256));
        if (result.Ok)
        {
            Assert.Equal(_sources.Sha256, rig.StoredSha(_sources.Sha256));
        }

        Assert.Equal(0, rig.TempFiles);
        Assert.Equal(0, rig.Partials.Count);
        return true;
    }
}
