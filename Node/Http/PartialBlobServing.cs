using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;
using PeerPatch.Node.Transfer;
using PeerPatch.Protocol;
using PeerPatch.Protocol.Http;
using PeerPatch.Protocol.Status;

namespace PeerPatch.Node.Http;

/// <summary>
/// Serve while receiving: a blob this node is still fetching by pieces (<see cref="PartialBlobs"/>) is offered to
/// others piece by piece. A single Range that lies within verified pieces is answered 206 from the temp file; a
/// Range not verified yet, or a GET of the whole blob, is answered 503 with Retry-After: 1 (the asker takes the piece
/// elsewhere and may come back). Both carry the pieces verified so far (<see cref="ApiHeaders.PiecesHeld"/>), so the
/// asker's next request here is for a piece this node has (without it, an asker learned only by trying, one
/// Retry-After per 503). The piece list of such a blob is served too. A temp file renamed or deleted under a reader
/// (the fetch ended) ends that response, never the node. Its bytes count and are paced as every blob upload
/// of the node (<see cref="BlobEndpoints.Upload"/>: its upload slot, the rate cap, served as server or as peer).
/// </summary>
internal static class PartialBlobServing
{
    private const int ChunkBytes = 256 * 1024;

    /// <summary>The piece list of a blob being fetched here, or null (GET /v1/blobs/{sha256}/pieces asks it when the store lacks the blob).</summary>
    public static PieceList? TryPieces(string sha256, PartialBlobs partials) =>
        WireFormat.IsSha256(sha256) && partials.Find(sha256) is { } partial ? partial.Pieces : null;

    /// <summary>Answers a GET/HEAD of <paramref name="partial"/> (a blob not held here, but being fetched).</summary>
    public static async Task ServeAsync(HttpContext ctx, PartialBlob partial, BlobEndpoints.Upload upload)
    {
        var request = ctx.Request.GetTypedHeaders();
        var size = partial.Size;
        if (request.Range is not { } range || !BlobEndpoints.IsOneByteRange(range) || ctx.Request.Headers.ContainsKey(HeaderNames.IfRange))
        {
            Busy(ctx, partial);
            return;
        }

        var parsed = range.Ranges.First();
        var (from, to) = parsed.From is null
            ? (size - Math.Min(parsed.To ?? 0, size), size - 1)
            : (parsed.From.Value, Math.Min(parsed.To ?? (size - 1), size - 1));
        if (from < 0 || from >= size || to < from)
        {
            ctx.Response.StatusCode = StatusCodes.Status416RangeNotSatisfiable;
            ctx.Response.Headers.ContentRange = $"bytes */{size}";
            return;
        }

        if (!partial.Covers(from, to) || partial.TryOpen() is not { } handle)
        {
            Busy(ctx, partial);
            return;
        }

        using (handle)
        {
            var length = to - from + 1;
            ctx.Response.StatusCode = StatusCodes.Status206PartialContent;
            ctx.Response.Headers[ApiHeaders.PiecesHeld] = partial.Held();
            ctx.Response.GetTypedHeaders().ETag = new EntityTagHeaderValue($"\"{partial.Sha256}\"");
            ctx.Response.Headers.AcceptRanges = "bytes";
            ctx.Response.ContentType = "application/octet-stream";
            ctx.Response.Headers.ContentRange = $"bytes {from}-{to}/{size}";
            ctx.Response.ContentLength = length;
            if (HttpMethods.IsHead(ctx.Request.Method))
            {
                return;
            }

            var writer = ctx.Response.BodyWriter;
            try
            {
                for (var offset = from; offset <= to;)
                {
                    var memory = writer.GetMemory(ChunkBytes);
                    var want = (int)Math.Min(Math.Min(memory.Length, ChunkBytes), to + 1 - offset);
                    await upload.BeforeAsync(want, ctx.RequestAborted).ConfigureAwait(false);
                    var read = await RandomAccess.ReadAsync(handle, memory[..want], offset, ctx.RequestAborted).ConfigureAwait(false);
                    if (read == 0)
                    {
                        ctx.Abort(); // the file is shorter than the blob: the response must not look complete
                        return;
                    }

                    writer.Advance(read);
                    offset += read;
                    upload.Sent(read);
                    var flushed = await upload.FlushAsync(writer, ctx.RequestAborted).ConfigureAwait(false);
                    if (flushed.IsCanceled || flushed.IsCompleted)
                    {
                        return;
                    }
                }
            }
            catch (IOException)
            {
                ctx.Abort();
            }
            catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested)
            {
                // client went away
            }
        }
    }

    private static void Busy(HttpContext ctx, PartialBlob partial)
    {
        ctx.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        ctx.Response.Headers.RetryAfter = "1";
        ctx.Response.Headers[ApiHeaders.PiecesHeld] = partial.Held();
    }
}
