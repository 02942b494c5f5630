using System.Buffers;

namespace PeerPatch.Node.Transport;

/// <summary>
/// One reusable encode buffer per thread, for the transport's sends (every lookup's reply is encoded into one). It
/// replaces a <c>ConcurrentBag</c>, whose thread-local lists cost a lock and, under Native AOT, a run-time generic
/// lookup on every reply (perf of the lookup bench). Rented, not borrowed: a nested rent on the same thread (an
/// encode inside an encode) finds the slot empty and gets a buffer of its own, so two callers never share one.
/// </summary>
internal static class ScratchBuffers
{
    /// <summary>A buffer that grew past this (one large message) is dropped on return, not kept by its thread.</summary>
    private const int KeepAtMost = 64 * 1024;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_spare;

    public static ArrayBufferWriter<byte> Rent()
    {
        var buffer = t_spare;
        t_spare = null;
        return buffer ?? new ArrayBufferWriter<byte>(512);
    }

    public static void Return(ArrayBufferWriter<byte> buffer)
    {
        if (buffer.Capacity <= KeepAtMost)
        {
            buffer.ResetWrittenCount();
            t_spare = buffer;
        }
    }
}
