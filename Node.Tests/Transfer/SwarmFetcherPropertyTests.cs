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
