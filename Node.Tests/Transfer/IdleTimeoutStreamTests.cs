using FsCheck;
using FsCheck.Fluent;
using Microsoft.Extensions.Time.Testing;
using PeerPatch.Node.Transfer;
using PeerPatch.Node.Updating;

namespace PeerPatch.Node.Tests.Transfer;

/// <summary>
/// The body rule of every internet response: each window of time spent waiting inside reads must bring at least the
/// minimum number of bytes. A stall and a trickle (slowloris) both fail within one window; a transfer that keeps the
/// minimum never fails, however long it runs; time the consumer spends between reads does not count.
/// </summary>
public sealed class IdleTimeoutStreamTests
{
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(10);

    [Fact]
    public void AnySchedule_FailsExactlyWhereTheWindowModelSays() =>
        Prop.ForAll(
            Gen.ListOf(Gen.Zip(Gen.Choose(0, 12_000), Gen.Choose(0, 400))).ToArbitrary(), // (ms before the chunk, its bytes)
            Gen.Choose(1, 1000).ToArbitrary(),
            (chunks, minBytes) =>
            {
                var schedule = chunks.Select(c => (TimeSpan.FromMilliseconds(c.Item1), Math.Max(1, c.Item2))).ToList();
                var expected = Model(schedule, minBytes);
                var (failedAt, delivered) = Drive(schedule, minBytes, gapBetweenReads: TimeSpan.Zero);
                Assert.Equal(expected, failedAt);
                Assert.Equal(schedule.Take(failedAt ?? schedule.Count).Sum(c => (long)c.Item2), delivered);
            }).Check(Config.QuickThrowOnFailure.WithMaxTest(500));

    [Fact]
    public void Slowloris_OneByteEveryThreeSeconds_FailsWithinOneWindow()
    {
        var trickle = Enumerable.Repeat((TimeSpan.FromSeconds(3), 1), 1000).ToList();

        var (failedAt, _) = Drive(trickle, minBytes: 2000, gapBetweenReads: TimeSpan.Zero);

        Assert.Equal(3, failedAt); // the 4th byte would come 12 s into a 10 s window
    }

    [Fact]
    public void WithoutAMinimumRate_TheSameTrickleWouldNeverFail()
    {
        var trickle = Enumerable.Repeat((TimeSpan.FromSeconds(3), 1), 1000).ToList();

        Assert.Null(Drive(trickle, minBytes: 1, gapBetweenReads: TimeSpan.Zero).FailedAt);
    }

    [Fact]
    public void ASteadyTransferAtTheMinimum_NeverFails_AndTimeBetweenReadsDoesNotCount()
    {
        // 1000 bytes every 4 s keeps a 2000-bytes-per-10-s minimum; the consumer takes a minute between reads.
        var steady = Enumerable.Repeat((TimeSpan.FromSeconds(4), 1000), 500).ToList();

        Assert.Null(Drive(steady, minBytes: 2000, gapBetweenReads: TimeSpan.FromMinutes(1)).FailedAt);
    }

    [Fact]
    public async Task AStall_FailsWithNoData_AndTellsTheCallback()
    {
        var time = new FakeTimeProvider();
        var heard = new List<string>();
        await using var stream = new IdleTimeoutStream(new NeverStream(), Window, time, 2000, e => heard.Add(e.Message));

        var read = stream.ReadAsync(new byte[10]).AsTask();
        time.Advance(Window - TimeSpan.FromMilliseconds(1));
        Assert.False(read.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(1));

        // The source never answers: a guard that does not fire leaves the read waiting for ever (bounded here; the
        // bound's own TimeoutException would not pass for the guard's, whose message is checked below).
        Assert.True(await Task.WhenAny(read, Task.Delay(TimeSpan.FromSeconds(30))) == read, "the read still waits 30 s after its window ran out");
        var e = await Assert.ThrowsAsync<TimeoutException>(() => read);
        Assert.Equal("no data for 10 s", e.Message);
        Assert.Equal([e.Message], heard);
    }

    /// <summary>The rule, written plainly: the chunk index at which the stream fails, or null.</summary>
    private static int? Model(IReadOnlyList<(TimeSpan Gap, int Bytes)> schedule, long minBytes)
    {
        var waited = TimeSpan.Zero;
        long bytes = 0;
        for (var i = 0; i < schedule.Count; i++)
        {
            waited += schedule[i].Gap;
            if (waited >= Window)
            {
                return i;
            }

            bytes += schedule[i].Bytes;
            if (bytes >= minBytes)
            {
                (waited, bytes) = (TimeSpan.Zero, 0);
            }
        }

        return null;
    }

    private static (int? FailedAt, long Delivered) Drive(IReadOnlyList<(TimeSpan Gap, int Bytes)> schedule, long minBytes, TimeSpan gapBetweenReads)
    {
        var time = new FakeTimeProvider();
        using var stream = new IdleTimeoutStream(new ScheduledStream(schedule, time), Window, time, minBytes);
        var buffer = new byte[1000];
        long delivered = 0;
        for (var i = 0; ; i++)
        {
            int n;
            try
            {
                n = stream.ReadAsync(buffer).AsTask().GetAwaiter().GetResult();
            }
            catch (TimeoutException)
            {
                return (i, delivered);
            }

            if (n == 0)
            {
                return (null, delivered);
            }

            delivered += n;
            time.Advance(gapBetweenReads); // the consumer at work: not the upstream's time
        }
    }

    /// <summary>Each read: the clock moves by the chunk's gap (the upstream's delay), then its bytes come, unless the read was cancelled by then.</summary>
    private sealed class ScheduledStream(IReadOnlyList<(TimeSpan Gap, int Bytes)> schedule, FakeTimeProvider time) : ReadOnlyStream
    {
        private int _next;

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_next == schedule.Count)
            {
                return ValueTask.FromResult(0);
            }

            var (gap, bytes) = schedule[_next++];
            time.Advance(gap);
            cancellationToken.ThrowIfCancellationRequested();
            return ValueTask.FromResult(Math.Min(bytes, buffer.Length));
        }
    }

    private sealed class NeverStream : ReadOnlyStream
    {
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return 0;
        }
    }

    /// <summary>A stream that only reads (asynchronously); the fakes above say how.</summary>
    private abstract class ReadOnlyStream : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
