using PeerPatch.Storage;

namespace PeerPatch.Node.Tests.Storage;

/// <summary>Cut-through reads of a blob while it is written (<see cref="BlobStore.OpenLive"/>).</summary>
public sealed partial class BlobStoreTests
{
    [Fact]
    public async Task LiveReader_FollowsTheWrite_AndGetsTheLastByteOnlyAfterTheCommit()
    {
        var (store, _) = Open();
        var bytes = Bytes(300_000, 7);
        Assert.Null(store.OpenLive(Sha(bytes)));
        await using var writer = store.BeginWrite(Sha(bytes), bytes.Length, bytes.Length);
        await writer.WriteAsync(bytes.AsMemory(0, 100_000), default);
        await using var reader = store.OpenLive(Sha(bytes));
        Assert.NotNull(reader);

        var received = new MemoryStream();
        var buffer = new byte[64 * 1024];
        while (received.Length < 100_000)
        {
            received.Write(buffer, 0, await reader.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(5))); // bytes already written: no wait
        }

        var pending = reader.ReadAsync(buffer).AsTask();
        Assert.False(pending.IsCompleted, "a read past the bytes written must wait");
        await writer.WriteAsync(bytes.AsMemory(100_000), default);
        received.Write(buffer, 0, await pending.WaitAsync(TimeSpan.FromSeconds(5)));
        while (received.Length < bytes.Length - 1)
        {
            received.Write(buffer, 0, await reader.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(5)));
        }

        Assert.Equal(bytes.Length - 1, received.Length); // everything written, nothing verified yet: the last byte waits
        var last = reader.ReadAsync(buffer).AsTask();
        await Task.Delay(50);
        Assert.False(last.IsCompleted, "the last byte must wait for the commit");

        Assert.Equal(BlobWriteStatus.Stored, (await writer.CommitAsync(default)).Status);
        received.Write(buffer, 0, await last.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(0, await reader.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(bytes, received.ToArray());
        Assert.False(store.IsLive(Sha(bytes)));
        Assert.Null(store.OpenLive(Sha(bytes)));
    }

    [Fact]
    public async Task LiveReader_OfWrongBytes_FailsWithoutEverCompleting()
    {
        var (store, db) = Open();
        var bytes = Bytes(300_000, 8);
        var claimed = Sha(Bytes(300_000, 9));
        var reading = Task.CompletedTask;
        long got = 0;
        await using (var writer = store.BeginWrite(claimed, bytes.Length, bytes.Length))
        {
            await writer.WriteAsync(bytes.AsMemory(0, 1000), default);
            var reader = store.OpenLive(claimed)!;
            reading = Task.Run(async () =>
            {
                await using (reader)
                {
                    var buffer = new byte[64 * 1024];
                    int n;
                    while ((n = await reader.ReadAsync(buffer)) > 0)
                    {
                        got += n;
                    }
                }
            });
            await writer.WriteAsync(bytes.AsMemory(1000), default);
            Assert.Equal(BlobWriteStatus.HashMismatch, (await writer.CommitAsync(default)).Status);
        }

        var error = await Assert.ThrowsAsync<IOException>(() => reading.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Contains("hash to", error.Message);
        Assert.True(got < bytes.Length, $"the reader got all {got} bytes of a blob that failed its hash");
        AssertEmpty(store, db);
    }

    [Fact]
    public async Task LiveReader_OfAnAbandonedWrite_FailsAtItsNextRead()
    {
        var (store, db) = Open();
        var bytes = Bytes(10_000, 10);
        LiveBlobStream reader;
        await using (var writer = store.BeginWrite(Sha(bytes), bytes.Length, bytes.Length))
        {
            await writer.WriteAsync(bytes.AsMemory(0, 5000), default);
            reader = store.OpenLive(Sha(bytes))!;
        }

        await using (reader)
        {
            var buffer = new byte[bytes.Length];
            await Assert.ThrowsAsync<IOException>(() => reader.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(5)));
        }

        AssertEmpty(store, db);
    }
}
