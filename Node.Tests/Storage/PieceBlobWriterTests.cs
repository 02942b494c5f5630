using System.Security.Cryptography;
using PeerPatch.Node.Tests.Support;
using PeerPatch.Storage;

namespace PeerPatch.Node.Tests.Storage;

/// <summary>A blob written out of order: committed only when the whole file hashes right; otherwise nothing is left.</summary>
public sealed class PieceBlobWriterTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly BlobStore _store;

    public PieceBlobWriterTests()
    {
        _store = new BlobStore(_dir.Sub("store"), PatchDatabase.Open(_dir.Sub("peerpatch.db")), new BlobStoreOptions { ReserveFreeBytes = 0 }, TimeProvider.System);
        _store.RecoverAtStartup();
    }

    [Fact]
    public async Task PiecesWrittenBackwards_CommitAsTheBlob()
    {
        var bytes = RandomNumberGenerator.GetBytes(300_001);
        var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        await using var writer = _store.BeginPieceWrite(sha, bytes.Length);
        for (var from = (bytes.Length / 65536) * 65536; from >= 0; from -= 65536)
        {
            await writer.WriteAtAsync(from, bytes.AsMemory(from, Math.Min(65536, bytes.Length - from)), default);
        }

        var result = await writer.CommitAsync(default);

        Assert.Equal(BlobWriteStatus.Stored, result.Status);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(_store.PathFor(sha)));
        Assert.Empty(Directory.GetFiles(_store.TempDirectory));
    }

    [Fact]
    public async Task WrongBytes_AreNotCommitted_AndLeaveNoTempFile()
    {
        var bytes = RandomNumberGenerator.GetBytes(100_000);
        var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        bytes[5] ^= 1;
        await using (var writer = _store.BeginPieceWrite(sha, bytes.Length))
        {
            await writer.WriteAtAsync(0, bytes, default);
            Assert.Equal(BlobWriteStatus.HashMismatch, (await writer.CommitAsync(default)).Status);
        }

        Assert.False(_store.Contains(sha));
        Assert.Empty(Directory.GetFiles(_store.TempDirectory));
    }

    [Fact]
    public async Task AWriteAbandoned_LeavesNothing_AndAWritePastTheEndIsRefused()
    {
        var sha = new string('c', 64);
        await using (var writer = _store.BeginPieceWrite(sha, 1000))
        {
            await writer.WriteAtAsync(0, new byte[500], default);
            await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await writer.WriteAtAsync(900, new byte[101], default));
        }

        Assert.False(_store.Contains(sha));
        Assert.Empty(Directory.GetFiles(_store.TempDirectory));
    }

    public void Dispose() => _dir.Dispose();
}
