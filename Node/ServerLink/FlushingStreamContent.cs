using System.Buffers;
using System.Net;

namespace PeerPatch.Node.ServerLink;

/// <summary>
/// A request body copied from a stream that grows while it is sent (a live push: <see cref="Storage.LiveBlobStream"/>),
/// each chunk flushed to the connection as soon as it was read. <see cref="StreamContent"/> leaves the last partial
/// buffer of the connection unsent while its source waits for more, so the server (and every node streaming through
/// it) got the newest few KiB only with the next chunk, and a push cut off by a failed download ended short of what it
/// had read. A <see cref="PushStallGuard"/>, when given, is disarmed while the source is read and armed while a chunk is
/// written and flushed, and again after the last one (the answer is awaited then).
/// </summary>
internal sealed class FlushingStreamContent(Stream source, int bufferSize, PushStallGuard? stall = null) : HttpContent
{
    private int _started;

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            // As StreamContent over a stream that cannot seek: a second send would start mid-stream.
            throw new InvalidOperationException("the push body was already (partly) sent; it cannot be sent again");
        }

        var buffer = ArrayPool<byte>.Shared.Rent(bufferSize);
        try
        {
            while (true)
            {
                stall?.Disarm(); // a live source waits for the download: not the server's doing
                var read = await source.ReadAsync(buffer.AsMemory(0, bufferSize), cancellationToken).ConfigureAwait(false);
                stall?.Arm();
                if (read == 0)
                {
                    break;
                }

                await stream.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        length = 0;
        return false; // the caller sets Content-Length (the patch's size)
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            source.Dispose();
        }

        base.Dispose(disposing);
    }
}
