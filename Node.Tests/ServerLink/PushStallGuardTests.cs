using Microsoft.Extensions.Time.Testing;
using PeerPatch.Node.ServerLink;

namespace PeerPatch.Node.Tests.ServerLink;

/// <summary>
/// The push body (<see cref="FlushingStreamContent"/>) under a <see cref="PushStallGuard"/>, on a fake clock: the time
/// a cut-through body waits for the download never counts, a write the server does not take does.
/// </summary>
public sealed class PushStallGuardTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(15);
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public async Task SlowSource_NeverFiresTheGuard_AServerThatTakesNoBytes_FiresItAfterTheBound()
    {
        using var guard = new PushStallGuard(Bound, _time);
        var source = new GatedStream();
        var server = new GatedStream();
        using var content = new FlushingStreamContent(source, 16, guard);
        guard.Arm(); // as PutAsync: armed for the connection and headers
        var sending = content.CopyToAsync(server, null, guard.Token);

        await source.WhenWaitingAsync();
        _time.Advance(TimeSpan.FromMinutes(5)); // the download is slow: five minutes for the next bytes
        Assert.False(guard.Fired);

        source.Release(10);
        await server.WhenWaitingAsync(); // the server takes no bytes
        _time.Advance(Bound - TimeSpan.FromSeconds(1));
        Assert.False(guard.Fired);
        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.True(guard.Fired);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sending.WaitAsync(TimeSpan.FromSeconds(30))); // a guard that fires but cancels nothing fails here
    }

    [Fact]
    public async Task ServerThatTakesEachChunk_KeepsThePushGoing_AndTheAnswerIsBoundAfterTheLastByte()
    {
        using var guard = new PushStallGuard(Bound, _time);
        var source = new GatedStream();
        var server = new GatedStream();
        using var content = new FlushingStreamContent(source, 16, guard);
        var sending = content.CopyToAsync(server, null, guard.Token);

        for (var i = 0; i < 3; i++)
        {
            await source.WhenWaitingAsync();
            source.Release(10);
            await server.WhenWaitingAsync();
            _time.Advance(Bound - TimeSpan.FromSeconds(1)); // slow, but each chunk is taken within the bound
            server.Release(0);
        }

        await source.WhenWaitingAsync();
        source.Release(0); // the body's end: the answer is awaited now, and bounded
        await sending.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.False(guard.Fired);
        _time.Advance(Bound);
        Assert.True(guard.Fired);
    }

    /// <summary>A stream whose every read or write waits until the test releases it (or its token is cancelled).</summary>
    private sealed class GatedStream : Stream
    {
        private readonly SemaphoreSlim _waiting = new(0);
        private TaskCompletionSource<int> _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public Task WhenWaitingAsync() => _waiting.WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(t => Assert.True(t.Result, "no read or write came"), TaskScheduler.Default);

        /// <summary>Ends the current wait: a read returns <paramref name="bytes"/> bytes, a write returns.</summary>
        public void Release(int bytes) => Interlocked.Exchange(ref _gate, new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously)).SetResult(bytes);

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var gate = Volatile.Read(ref _gate).Task;
            _waiting.Release();
            return Math.Min(buffer.Length, await gate.WaitAsync(cancellationToken));
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var gate = Volatile.Read(ref _gate).Task;
            _waiting.Release();
            await gate.WaitAsync(cancellationToken);
        }

        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
