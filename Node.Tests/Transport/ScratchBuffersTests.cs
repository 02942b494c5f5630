using System.Buffers;

using PeerPatch.Node.Transport;

namespace PeerPatch.Node.Tests.Transport;

/// <summary><see cref="ScratchBuffers"/>: never one buffer to two renters, reused once returned, a grown one not kept.</summary>
public sealed class ScratchBuffersTests
{
    [Fact]
    public void ANestedRent_GetsABufferOfItsOwn_AndAReturnedOneIsReusedEmpty()
    {
        var outer = ScratchBuffers.Rent();
        outer.Write("outer"u8);
        var inner = ScratchBuffers.Rent();
        Assert.NotSame(outer, inner);
        inner.Write("inner"u8);
        Assert.Equal("outer"u8.ToArray(), outer.WrittenSpan.ToArray());
        ScratchBuffers.Return(inner);
        ScratchBuffers.Return(outer);

        var again = ScratchBuffers.Rent();
        Assert.Same(outer, again);
        Assert.Equal(0, again.WrittenCount);
        ScratchBuffers.Return(again);
    }

    [Fact]
    public void ThreadsDoNotShare()
    {
        var mine = ScratchBuffers.Rent();
        ScratchBuffers.Return(mine);
        ArrayBufferWriter<byte>? theirs = null;
        var other = new Thread(() => theirs = ScratchBuffers.Rent());
        other.Start();
        other.Join();
        Assert.NotNull(theirs);
        Assert.NotSame(mine, theirs);
        Assert.Same(mine, ScratchBuffers.Rent()); // this thread's spare was left alone
    }

    [Fact]
    public void ABufferGrownPastTheCap_IsNotKept()
    {
        var big = ScratchBuffers.Rent();
        big.Write(new byte[128 * 1024]);
        ScratchBuffers.Return(big);
        var next = ScratchBuffers.Rent();
        Assert.NotSame(big, next);
        ScratchBuffers.Return(next);
    }
}
