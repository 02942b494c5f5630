using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.IO.Pipelines;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;
using PeerPatch.Node.Cluster;
using PeerPatch.Node.Primitives;
using PeerPatch.Node.Serving;
using PeerPatch.Node.Transfer;
using PeerPatch.Protocol;
using PeerPatch.Protocol.Http;
using PeerPatch.Protocol.Status;
using PeerPatch.Storage;

namespace PeerPatch.Node.Http;

/// <summary>
/// GET/HEAD /v1/blobs/{sha256}: served from disk with ETag and single Range support. A blob whose file changed since
/// it was last hashed (size or modification time) is hashed while a full GET streams, with its last chunk held
/// back until the hash matches: a blob corrupted on disk is never delivered complete; the connection is aborted and
/// the blob removed. An unchanged, verified blob is sent straight from the file. A Range is served only from a blob
/// whose current bytes were verified (re-hashed first if the file changed).
/// A blob not held but being written here (cut-through) is streamed as it arrives; see <see cref="WaitForLiveAsync"/>.
/// Every GET of a blob (whole or Range, by any node, to the server or a peer) takes one of the node's
/// <see cref="UploadSlots"/> or is answered 503 with Retry-After; its bytes go out at the node's shared
/// <see cref="UploadThrottle"/> rate and are counted as served by the server or by a peer.
/// GET /v1/blobs/{sha256}/pieces: the blob's <see cref="PieceList"/> (404 when not held here).
/// PUT /v1/blobs/{sha256}?os=&amp;name=&amp;url= streams into the blob store; wrong bytes or more than the declared
/// size are refused with 4xx and leave nothing behind. Its url= is stored with its secrets masked. A push of a blob
/// already held is answered without reading the body (412 when the pusher sent If-None-Match: *, as nodes do, so its
/// HttpClient never sends the body), so it proves nothing: it adds a patch record (a name and a URL
/// for the blob) only when the push is signed with the cluster key (see <see cref="MayName"/>).
/// </summary>
internal static partial class BlobEndpoints
{
    private const int ChunkBytes = 256 * 1024;

    /// <summary>How long a GET for a claimed blob waits for the claim holder's push to start.</summary>
    private static readonly TimeSpan LiveWait = LanFetcher.ServerStreamWait;

    public static void Map(WebApplication app)
    {
        app.MapMethods(BlobUrl.Route, [HttpMethods.Get, HttpMethods.Head], GetAsync);
        app.MapGet(BlobUrl.PiecesRoute, PiecesAsync);
        app.MapPut(BlobUrl.Route, PutAsync);
    }

    /// <summary>
    /// GET /v1/blobs/{sha256}/pieces: the piece list of a held blob (recorded when it was stored, computed on first
    /// request for an older one), or of one being fetched here by pieces; 404 otherwise.
    /// </summary>
    private static async Task<IResult> PiecesAsync(HttpContext ctx, string sha256, BlobStore store, PartialBlobs partials)
    {
        if (!WireFormat.IsSha256(sha256))
        {
            return Results.Problem("need a lowercase SHA-256 in the path", statusCode: StatusCodes.Status400BadRequest);
        }

        var pieces = await store.GetPiecesAsync(sha256, ctx.RequestAborted).ConfigureAwait(false);
        if (pieces is null)
        {
            // Not held, but maybe being fetched here by pieces: its list is served while they arrive.
            return PartialBlobServing.TryPieces(sha256, partials) is { } partial
                ? Results.Json(partial, StatusJsonContext.Default.PieceList)
                : Results.NotFound();
        }

        store.MarkUsed(sha256); // a peer is about to fetch its pieces
        var hex = new string[pieces.Count];
        for (var i = 0; i < hex.Length; i++)
        {
            hex[i] = pieces.HexAt(i);
        }

        ctx.Response.Headers.CacheControl = "public, max-age=31536000, immutable";
        return Results.Json(new PieceList(sha256, pieces.Size, pieces.PieceSize, hex), StatusJsonContext.Default.PieceList);
    }

    private static async Task GetAsync(HttpContext ctx, string sha256, BlobStore store, PatchServer server, ClusterState cluster, UploadSlots slots, UploadThrottle throttle, NodeStats stats, PartialBlobs partials, HttpOptions options, TimeProvider time, ILoggerFactory loggers)
    {
        var logger = loggers.CreateLogger("PeerPatch.Node.Http.Blobs");
        if (!WireFormat.IsSha256(sha256))
        {
            ctx.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }

        // Every node, the server too, sends at most UploadSlots blobs at once, at most UploadSlotsPerClient of them to
        // one address; a HEAD sends none and needs no slot.
        UploadSlots.Lease slot = default;
        if (HttpMethods.IsGet(ctx.Request.Method) && !slots.TryTake(ctx.Connection.RemoteIpAddress, out slot, out var overClientCap))
        {
            stats.UploadBusy(overClientCap);
            ctx.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            ctx.Response.Headers.RetryAfter = UploadSlots.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return;
        }

        using var held = slot;
        using var stall = new UploadStallGuard(ctx, options.UploadStallTimeout, time, logger);
        var upload = new Upload(stats, throttle, cluster.IsServer, stall);

        if (!store.TryGetSize(sha256, out var size))
        {
            if (partials.Find(sha256) is { } partial)
            {
                await PartialBlobServing.ServeAsync(ctx, partial, upload).ConfigureAwait(false); // fetched by pieces: its verified ones
                return;
            }

            var live = await WaitForLiveAsync(ctx, sha256, store, server).ConfigureAwait(false);
            if (live is not null)
            {
                await using (live.ConfigureAwait(false))
                {
                    await ServeLiveAsync(ctx, sha256, live, upload).ConfigureAwait(false);
                }

                return;
            }

            if (!store.TryGetSize(sha256, out size))
            {
                ctx.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }
        }

        if (HttpMethods.IsGet(ctx.Request.Method))
        {
            store.MarkUsed(sha256); // served: the cache's eviction order counts it as used (the verified path opens no stream through the store)
        }

        var etag = SetBlobHeaders(ctx, sha256);
        var request = ctx.Request.GetTypedHeaders();
        if (request.IfNoneMatch.Any(t => t.Compare(etag, useStrongComparison: false) || t.Equals(EntityTagHeaderValue.Any)))
        {
            ctx.Response.StatusCode = StatusCodes.Status304NotModified;
            return;
        }

        var range = request.Range;
        // RFC 9110 13.1.5: an If-Range that is not this blob's strong ETag (a date, a weak or other tag, or an unparsable
        // value) asks for the whole body.
        var ifRangeOk = !ctx.Request.Headers.ContainsKey(HeaderNames.IfRange) || (request.IfRange?.EntityTag?.Compare(etag, useStrongComparison: true) ?? false);
        if (IsOneByteRange(range) && ifRangeOk)
        {
            await ServeRangeAsync(ctx, sha256, size, range.Ranges.First(), store, upload, logger).ConfigureAwait(false);
            return;
        }

        ctx.Response.ContentLength = size;
        if (HttpMethods.IsHead(ctx.Request.Method))
        {
            return;
        }

        if (store.IsVerified(sha256))
        {
            // Hashed since its last change (at write, by a verified serve or the scrub): straight from the file, no
            // second SHA-256 pass on the hot path. The receiver verifies every byte anyway.
            try
            {
                await SendFileAsync(ctx, store.PathFor(sha256), 0, size, upload).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested)
            {
                // client went away
            }

            return;
        }

        await ServeVerifiedAsync(ctx, sha256, store, upload, logger).ConfigureAwait(false);
    }

    /// <summary>
    /// What every blob upload of one GET shares: the byte counters (as server or as peer), the node's rate cap, and the
    /// bound on a client that stops taking bytes (every write to the client goes through <see cref="FlushAsync"/> or
    /// <see cref="WriteAsync"/>).
    /// </summary>
    internal readonly record struct Upload(NodeStats Stats, UploadThrottle Throttle, bool AsServer, UploadStallGuard Stall)
    {
        public void Sent(long bytes) => Stats.AddBlobBytesServed(bytes, AsServer);

        public ValueTask BeforeAsync(int bytes, CancellationToken ct) => Throttle.WaitAsync(bytes, ct);

        public async ValueTask<FlushResult> FlushAsync(PipeWriter writer, CancellationToken ct)
        {
            Stall.Arm();
            try
            {
                return await writer.FlushAsync(ct).ConfigureAwait(false);
            }
            finally
            {
                Stall.Disarm();
            }
        }

        public async ValueTask WriteAsync(Stream body, ReadOnlyMemory<byte> data, CancellationToken ct)
        {
            Stall.Arm();
            try
            {
                await body.WriteAsync(data, ct).ConfigureAwait(false);
            }
            finally
            {
                Stall.Disarm();
            }
        }
    }

    /// <summary>One range in bytes; the unit is case-insensitive (RFC 9110 14.1). Anything else is served whole.</summary>
    internal static bool IsOneByteRange([NotNullWhen(true)] RangeHeaderValue? range) =>
        range is { Ranges.Count: 1 } && range.Unit.Equals("bytes", StringComparison.OrdinalIgnoreCase);

    private static EntityTagHeaderValue SetBlobHeaders(HttpContext ctx, string sha256)
    {
        var etag = new EntityTagHeaderValue($"\"{sha256}\"");
        ctx.Response.GetTypedHeaders().ETag = etag;
        ctx.Response.Headers.AcceptRanges = "bytes";
        ctx.Response.Headers.CacheControl = "public, max-age=31536000, immutable";
        ctx.Response.ContentType = "application/octet-stream";
        return etag;
    }

    /// <summary>
    /// Cut-through: a blob not held yet but being written here (a push, or this node's own download) is streamed as
    /// it grows. While a claim for it is alive and its write has not started, the request waits (up to
    /// <see cref="LiveWait"/>) for the holder's push to begin. Null: neither held nor coming; answer from the store.
    /// </summary>
    private static async Task<LiveBlobStream?> WaitForLiveAsync(HttpContext ctx, string sha256, BlobStore store, PatchServer server)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!ctx.RequestAborted.IsCancellationRequested && !store.Contains(sha256))
        {
            var changed = store.WhenChangedAsync(TimeSpan.FromMilliseconds(250), ctx.RequestAborted);
            if (store.OpenLive(sha256) is { } live)
            {
                return live;
            }

            if (!server.IsBeingFetched(sha256) || waited.Elapsed > LiveWait)
            {
                return null;
            }

            await changed.ConfigureAwait(false);
        }

        return null;
    }

    /// <summary>A live blob, full body only (a Range is ignored: RFC 9110 allows it), ended by an abort if its write fails.</summary>
    private static async Task ServeLiveAsync(HttpContext ctx, string sha256, LiveBlobStream live, Upload upload)
    {
        SetBlobHeaders(ctx, sha256);
        ctx.Response.Headers.AcceptRanges = "none";
        ctx.Response.ContentLength = live.Length;
        if (HttpMethods.IsHead(ctx.Request.Method))
        {
            return;
        }

        var writer = ctx.Response.BodyWriter;
        try
        {
            while (true)
            {
                var read = await live.ReadAsync(writer.GetMemory(ChunkBytes), ctx.RequestAborted).ConfigureAwait(false);
                if (read == 0)
                {
                    return;
                }

                await upload.BeforeAsync(read, ctx.RequestAborted).ConfigureAwait(false);
                writer.Advance(read);
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
            ctx.Abort(); // the write failed (wrong bytes, pusher gone): the response must not look complete
        }
        catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested)
        {
            // client went away
        }
    }

    private static async Task ServeRangeAsync(HttpContext ctx, string sha256, long size, RangeItemHeaderValue parsed, BlobStore store, Upload upload, ILogger logger)
    {
        long from, to;
        if (parsed.From is null)
        {
            var suffix = Math.Min(parsed.To ?? 0, size);
            (from, to) = (size - suffix, size - 1);
        }
        else
        {
            (from, to) = (parsed.From.Value, Math.Min(parsed.To ?? (size - 1), size - 1));
        }

        if (from < 0 || from >= size || to < from)
        {
            ctx.Response.StatusCode = StatusCodes.Status416RangeNotSatisfiable;
            ctx.Response.Headers.ContentRange = $"bytes */{size}";
            return;
        }

        if (!store.IsVerified(sha256) && !await store.VerifyAsync(sha256, ctx.RequestAborted).ConfigureAwait(false))
        {
            upload.Stats.CorruptBlob();
            Log.Corrupt(logger, sha256);
            ctx.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        var length = to - from + 1;
        ctx.Response.StatusCode = StatusCodes.Status206PartialContent;
        ctx.Response.Headers.ContentRange = $"bytes {from}-{to}/{size}";
        ctx.Response.ContentLength = length;
        if (HttpMethods.IsHead(ctx.Request.Method))
        {
            return;
        }

        try
        {
            await SendFileAsync(ctx, store.PathFor(sha256), from, length, upload).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested)
        {
            // client went away
        }
    }

    /// <summary>
    /// The file read straight into the response pipe's own buffers (one copy fewer than a stream copy, no pooled
    /// buffer of ours), flushed per chunk so that the pipe's back-pressure bounds memory.
    /// </summary>
    private static async Task SendFileAsync(HttpContext ctx, string path, long from, long length, Upload upload)
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, FileOptions.SequentialScan);
        var writer = ctx.Response.BodyWriter;
        var end = from + length;
        for (var offset = from; offset < end;)
        {
            var memory = writer.GetMemory(ChunkBytes);
            var want = (int)Math.Min(Math.Min(memory.Length, ChunkBytes), end - offset);
            await upload.BeforeAsync(want, ctx.RequestAborted).ConfigureAwait(false);
            var read = await RandomAccess.ReadAsync(handle, memory[..want], offset, ctx.RequestAborted).ConfigureAwait(false);
            if (read == 0)
            {
                throw new IOException($"{path} ended at {offset} of {end} bytes");
            }

            writer.Advance(read);
            upload.Sent(read);
            offset += read;
            var flushed = await upload.FlushAsync(writer, ctx.RequestAborted).ConfigureAwait(false);
            if (flushed.IsCanceled || flushed.IsCompleted)
            {
                return;
            }
        }
    }

    private static async Task ServeVerifiedAsync(HttpContext ctx, string sha256, BlobStore store, Upload upload, ILogger logger)
    {
        var file = store.OpenRead(sha256);
        if (file is null)
        {
            ctx.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        var current = ArrayPool<byte>.Shared.Rent(ChunkBytes);
        var held = ArrayPool<byte>.Shared.Rent(ChunkBytes);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var heldCount = 0;
        try
        {
            await using (file.ConfigureAwait(false))
            {
                while (true)
                {
                    var read = await file.ReadAsync(current.AsMemory(0, ChunkBytes), ctx.RequestAborted).ConfigureAwait(false);
                    if (read == 0)
                    {
                        break;
                    }

                    hash.AppendData(current, 0, read);
                    if (heldCount > 0)
                    {
                        await upload.BeforeAsync(heldCount, ctx.RequestAborted).ConfigureAwait(false);
                        await upload.WriteAsync(ctx.Response.Body, held.AsMemory(0, heldCount), ctx.RequestAborted).ConfigureAwait(false);
                        upload.Sent(heldCount);
                    }

                    (current, held, heldCount) = (held, current, read);
                }
            }

            if (Convert.ToHexStringLower(hash.GetHashAndReset()) != sha256)
            {
                // Never complete a response with bytes that do not match their name.
                upload.Stats.CorruptBlob();
                Log.Corrupt(logger, sha256);
                store.Remove(sha256);
                ctx.Abort();
                return;
            }

            store.MarkVerified(sha256);
            if (heldCount > 0)
            {
                await upload.BeforeAsync(heldCount, ctx.RequestAborted).ConfigureAwait(false);
                await upload.WriteAsync(ctx.Response.Body, held.AsMemory(0, heldCount), ctx.RequestAborted).ConfigureAwait(false);
                upload.Sent(heldCount);
            }
        }
        catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested)
        {
            // client went away
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(current);
            ArrayPool<byte>.Shared.Return(held);
        }
    }

    private static async Task<IResult> PutAsync(
        HttpContext ctx,
        string sha256,
        BlobStore store,
        PatchServer server,
        ClusterState cluster,
        CoreOptions options,
        NodeStats stats,
        NodeEvents events,
        Security.ClusterAuth auth,
        TimeProvider time,
        ILoggerFactory loggers)
    {
        var logger = loggers.CreateLogger("PeerPatch.Node.Http.Blobs");
        var os = ctx.Request.Query["os"].ToString();
        var name = ctx.Request.Query["name"].ToString();
        var url = ctx.Request.Query["url"].ToString();
        var node = ctx.Request.Headers[ApiHeaders.NodeId].ToString();
        IResult Reject(int status, string reason)
        {
            stats.PushRejected();
            events.Add(NodeEventKinds.PushRejected, $"{name} from {ctx.Connection.RemoteIpAddress}: {status} {reason}");
            Log.PushRejected(logger, name, sha256, ctx.Connection.RemoteIpAddress?.ToString() ?? "?", status, reason);
            return Results.Problem(reason, statusCode: status);
        }

        if (!cluster.IsServer)
        {
            return Reject(StatusCodes.Status409Conflict, "this node is not the LAN server");
        }

        if (!WireFormat.IsSha256(sha256) || !WireFormat.IsOsVersion(os) || !WireFormat.IsPatchName(name))
        {
            return Reject(StatusCodes.Status400BadRequest, "need a lowercase SHA-256 in the path, and valid os and name query parameters");
        }

        var upstream = url.Length is > 0 and <= ProtocolLimits.MaxUrlLength && Uri.TryCreate(url, UriKind.Absolute, out var u)
            && (u.Scheme == Uri.UriSchemeHttp || u.Scheme == Uri.UriSchemeHttps) ? Protocol.Text.SecretRedaction.RedactUrl(url) : null;
        var declared = ctx.Request.ContentLength;
        if (declared is null)
        {
            return Reject(StatusCodes.Status411LengthRequired, "Content-Length is required");
        }

        if (declared > options.MaxPatchBytes)
        {
            return Reject(StatusCodes.Status413PayloadTooLarge, $"declared {declared} bytes, more than the {options.MaxPatchBytes}-byte limit");
        }

        var addedBy = WireFormat.IsNodeId(node) ? node : "unknown";
        var record = new PatchRecord(os, name, sha256, declared.Value, upstream, time.GetUtcNow(), addedBy, 0, null);
        if (store.TryGetSize(sha256, out var existing) && existing == declared)
        {
            var recorded = MayName(auth);
            if (recorded)
            {
                store.RecordPatch(record);
                server.OnStored(os, name, sha256, existing);
            }
            else
            {
                Log.HeldNotNamed(logger, name, sha256, ctx.Connection.RemoteIpAddress?.ToString() ?? "?");
            }

            // If-None-Match: * (our pushers send it) gets 412, a status of 300 or more, so HttpClient, waiting on its
            // Expect: 100-continue, never sends the body; a plain 200 would not stop it.
            var createOnly = ctx.Request.Headers.IfNoneMatch.ToString().Trim() == "*";
            var reply = new PushReply("already present", sha256, existing, recorded);
            if (!createOnly)
            {
                // A plain PUT sends its body whatever the answer. Answer first, then read that body to its declared end
                // (Kestrel's minimum data rate bounds a slow or silent sender): left unread, Kestrel cannot drain more
                // than the default body limit after the answer, resets the connection, and a client still sending sees a
                // broken pipe instead of this 200 (a suite run under load did).
                await ctx.Response.WriteAsJsonAsync(reply, BlobJson.Default.PushReply, contentType: null, ctx.RequestAborted).ConfigureAwait(false);
                await ctx.Response.CompleteAsync().ConfigureAwait(false);
                if (ctx.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } drainLimit)
                {
                    drainLimit.MaxRequestBodySize = declared;
                }

                try
                {
                    await ctx.Request.Body.CopyToAsync(Stream.Null, ctx.RequestAborted).ConfigureAwait(false);
                }
                catch (Exception e) when (e is IOException or BadHttpRequestException or OperationCanceledException)
                {
                    // The sender stopped short of what it declared, or went away: there is nothing to keep.
                }

                return Results.Empty;
            }

            return Results.Json(reply, BlobJson.Default.PushReply, statusCode: StatusCodes.Status412PreconditionFailed);
        }

        if (ctx.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = declared;
        }

        await using var writer = store.BeginWrite(sha256, declared.Value, declared.Value);
        writer.Patch = record;
        BlobWriteResult result;
        try
        {
            result = await writer.CopyFromAsync(ctx.Request.Body, ctx.RequestAborted, new PushProgress(server, sha256, addedBy, time)).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested)
        {
            // The pusher hung up mid-body: the temp file goes with the writer, nothing is stored.
            return Reject(StatusCodes.Status400BadRequest, $"connection closed after {writer.BytesWritten} of {declared} bytes");
        }

        if (!result.Succeeded)
        {
            var status = result.Status switch
            {
                BlobWriteStatus.HashMismatch => StatusCodes.Status422UnprocessableEntity,
                BlobWriteStatus.TooLarge => StatusCodes.Status413PayloadTooLarge,
                BlobWriteStatus.StorageFailed => StatusCodes.Status507InsufficientStorage,
                _ => StatusCodes.Status400BadRequest,
            };
            return Reject(status, result.Message ?? result.Status.ToString());
        }

        server.OnStored(os, name, sha256, result.Bytes);
        stats.PushAccepted();
        stats.AddLanBytesReceived(result.Bytes);
        events.Add(NodeEventKinds.Push, $"{name} ({result.Bytes} bytes) from {addedBy}");
        Log.PushAccepted(logger, name, sha256, result.Bytes, addedBy);
        ctx.Response.Headers.Location = BlobUrl.PathOf(sha256);
        return Results.Json(new PushReply("stored", sha256, result.Bytes), BlobJson.Default.PushReply, statusCode: StatusCodes.Status201Created);
    }

    /// <summary>Bytes of a push arriving keep the pusher's claim alive (<see cref="PatchServer.PushProgress"/>), told at most once a second.</summary>
    private sealed class PushProgress(PatchServer server, string sha256, string nodeId, TimeProvider time) : IProgress<long>
    {
        private static readonly TimeSpan Every = TimeSpan.FromSeconds(1);
        private long _told = long.MinValue;

        public void Report(long value)
        {
            var now = time.GetTimestamp();
            if (_told == long.MinValue || time.GetElapsedTime(_told, now) >= Every)
            {
                _told = now;
                server.PushProgress(sha256, nodeId);
            }
        }
    }

    /// <summary>
    /// Whether a push of a blob already held may add a patch record for it. Such a push reads no body, so it proves
    /// nothing about the bytes: anyone who read a hash from the open /v1/patches could otherwise attach any name and
    /// URL to any published blob. With a cluster key every push that gets here is signed (WriteAuthorization), and a
    /// key holder may do everything (docs/security.md), so it may add a record for a new (OS, name) of the blob; an
    /// existing row is never rewritten (the database keeps the first). On an open LAN no unsigned push of a held blob
    /// adds a record; the names a node asks for under that hash still reach the database through its lookup hit.
    /// </summary>
    internal static bool MayName(Security.ClusterAuth auth) => auth.Keyed;

    /// <summary>The answer to a push: {"status","sha256","size"}, and "recorded" for a blob already held.</summary>
    internal sealed record PushReply(string Status, string Sha256, long Size, [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? Recorded = null);

    [JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
    [JsonSerializable(typeof(PushReply))]
    private sealed partial class BlobJson : JsonSerializerContext;

    private static partial class Log
    {
        [LoggerMessage(EventId = 500, Level = LogLevel.Error, Message = "blob {PatchHash} is corrupt on disk: not served, removed")]
        public static partial void Corrupt(ILogger logger, string patchHash);

        [LoggerMessage(EventId = 501, Level = LogLevel.Warning, Message = "push of {Patch} ({PatchHash}) from {Remote} rejected with {Status}: {Reason}")]
        public static partial void PushRejected(ILogger logger, string patch, string patchHash, string remote, int status, string reason);

        [LoggerMessage(EventId = 502, Level = LogLevel.Information, Message = "push of {Patch} ({PatchHash}, {Bytes} bytes) from {PeerId} stored")]
        public static partial void PushAccepted(ILogger logger, string patch, string patchHash, long bytes, string peerId);

        [LoggerMessage(EventId = 503, Level = LogLevel.Information, Message = "push of {Patch} ({PatchHash}) from {Remote}: blob already held; unsigned, so no record added")]
        public static partial void HeldNotNamed(ILogger logger, string patch, string patchHash, string remote);
    }
}
