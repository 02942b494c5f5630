using System.Security.Cryptography;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.Extensions.Time.Testing;
using PeerPatch.Node.Tests.Support;
using PeerPatch.Storage;

namespace PeerPatch.Node.Tests.Storage;

/// <summary>Piece hashes computed in the write's own pass, lazily for older blobs, and removed with the blob.</summary>
public sealed class PieceHashTests : IDisposable
{
    private const int Piece = 1024;
    private readonly TempDir _dir = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 30, 0, 0, 0, TimeSpan.Zero));

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void PieceHashesOfAStoredBlob_EqualAnIndependentComputation_AroundPieceBoundaries()
    {
        var db = PatchDatabase.Open(_dir.Sub("p.db"));
        var store = new BlobStore(_dir.Sub("blobs"), db, new BlobStoreOptions { PieceSize = Piece, ReserveFreeBytes = 0 }, _time);
        store.RecoverAtStartup();
        var sizes =
            from k in Gen.Choose(0, 5)
            from delta in Gen.Elements(-1, 0, 1)
            from random in Gen.Choose(0, 6 * Piece)
            from pick in Gen.Elements(0, 1, 2, 3)
            select pick switch { 0 => 0, 1 => 1, 2 => Math.Max(0, (k * Piece) + delta), _ => random };
        var cases =
            from size in sizes
            from chunk in Gen.Choose(1, 3 * Piece)
            from seed in Gen.Choose(0, int.MaxValue)
            select (size, chunk, seed);
        Prop.ForAll(cases.ToArbitrary(), c =>
        {
            var bytes = new byte[c.size];
            new Random(c.seed).NextBytes(bytes);
            var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
            store.Remove(sha);
            var writer = store.BeginWrite(sha, bytes.Length, bytes.Length);
            for (var at = 0; at < bytes.Length; at += c.chunk)
            {
                Assert.True(writer.WriteAsync(bytes.AsMemory(at, Math.Min(c.chunk, bytes.Length - at)), default).AsTask().GetAwaiter().GetResult());
            }

            Assert.True(writer.CommitAsync(default).GetAwaiter().GetResult().Succeeded);
            writer.DisposeAsync().AsTask().GetAwaiter().GetResult();

            var pieces = store.GetPiecesAsync(sha, default).GetAwaiter().GetResult();
            Assert.NotNull(pieces);
            Assert.Equal(Independent(bytes, Piece), Enumerable.Range(0, pieces.Count).Select(pieces.HexAt).ToList());
            Assert.Equal((c.size + Piece - 1) / Piece, pieces.Count);
            Assert.NotNull(db.GetPieces(sha, Piece)); // recorded with the blob, not computed on request
            return true;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(120));
    }

    [Fact]
    public async Task ABlobStoredWithoutPieceHashesForThisPieceSize_GetsThemComputedOnRequest_AndRecorded()
    {
        var db = PatchDatabase.Open(_dir.Sub("p.db"));
        var bytes = RandomNumberGenerator.GetBytes((3 * Piece) + 17);
        var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        var before = new BlobStore(_dir.Sub("blobs"), db, new BlobStoreOptions { PieceSize = 4 * Piece, ReserveFreeBytes = 0 }, _time);
        before.RecoverAtStartup();
        Assert.True((await before.WriteAsync(new MemoryStream(bytes), sha, bytes.Length, long.MaxValue, default)).Succeeded);
        Assert.Null(db.GetPieces(sha, Piece));

        var after = new BlobStore(_dir.Sub("blobs"), db, new BlobStoreOptions { PieceSize = Piece, ReserveFreeBytes = 0 }, _time);
        after.RecoverAtStartup();
        var pieces = await after.GetPiecesAsync(sha, default);

        Assert.NotNull(pieces);
        Assert.Equal(Independent(bytes, Piece), Enumerable.Range(0, pieces.Count).Select(pieces.HexAt).ToList());
        Assert.NotNull(db.GetPieces(sha, Piece));
    }

    [Fact]
    public async Task RemovingABlob_RemovesItsPieceHashes_AndAnUnheldBlobHasNone()
    {
        var db = PatchDatabase.Open(_dir.Sub("p.db"));
        var store = new BlobStore(_dir.Sub("blobs"), db, new BlobStoreOptions { PieceSize = Piece, ReserveFreeBytes = 0 }, _time);
        store.RecoverAtStartup();
        var bytes = RandomNumberGenerator.GetBytes(5000);
        var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        Assert.True((await store.WriteAsync(new MemoryStream(bytes), sha, bytes.Length, long.MaxValue, default)).Succeeded);
        Assert.NotNull(db.GetPieces(sha, Piece));

        store.Remove(sha);

        Assert.Null(db.GetPieces(sha, Piece));
        Assert.Null(await store.GetPiecesAsync(sha, default));
    }

    [Fact]
    public async Task ACorruptOlderBlob_IsRemoved_WhenItsPiecesAreComputed()
    {
        var db = PatchDatabase.Open(_dir.Sub("p.db"));
        var bytes = RandomNumberGenerator.GetBytes(3000);
        var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        var before = new BlobStore(_dir.Sub("blobs"), db, new BlobStoreOptions { PieceSize = 4 * Piece, ReserveFreeBytes = 0 }, _time);
        before.RecoverAtStartup();
        Assert.True((await before.WriteAsync(new MemoryStream(bytes), sha, bytes.Length, long.MaxValue, default)).Succeeded);
        var path = before.PathFor(sha);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        bytes[100] ^= 0xff;
        await File.WriteAllBytesAsync(path, bytes);

        var after = new BlobStore(_dir.Sub("blobs"), db, new BlobStoreOptions { PieceSize = Piece, ReserveFreeBytes = 0 }, _time);
        after.RecoverAtStartup();

        Assert.Null(await after.GetPiecesAsync(sha, default));
        Assert.False(after.Contains(sha));
    }

    private static List<string> Independent(byte[] bytes, int pieceSize)
    {
        var list = new List<string>();
        for (var at = 0; at < bytes.Length; at += pieceSize)
        {
            list.Add(Convert.ToHexStringLower(SHA256.HashData(bytes.AsSpan(at, Math.Min(pieceSize, bytes.Length - at)))));
        }

        return list;
    }
}
