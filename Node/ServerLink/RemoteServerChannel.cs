using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using PeerPatch.Node.Primitives;
using PeerPatch.Node.Sources;
using PeerPatch.Node.Transfer;
using PeerPatch.Node.Transport;
using PeerPatch.Protocol.Http;
using PeerPatch.Protocol.Messages;
using PeerPatch.Protocol.Status;
using PeerPatch.Storage;

namespace PeerPatch.Node.ServerLink;

/// <summary>
/// A remote server: requests over the node's LiteNetLib connection (connected and greeted with Hello on first
/// use, reconnected after a loss), blob pushes and inventory reports as HTTP requests to the HTTP port its HelloAck
/// names. Each new session is announced (<c>sessionOpened</c>) and counted in <see cref="SessionNumber"/>: the
/// <see cref="InventoryReporter"/> then reports this node's inventory to it, as an explicit step of its own.
/// Made by <see cref="RemoteServerChannelFactory"/>.
/// </summary>
internal sealed partial class RemoteServerChannel(
    string host,
    int port,
    Action<IServerChannel> sessionOpened,
    LanTransport transport,
    HttpClient lanHttp,
    BlobStore store,
    NodeIdentity self,
    HttpEndpointInfo ownHttp,
    ServerLinkOptions options,
    TransportOptions transportOptions,
    TransferOptions transferOptions,
    NodeStats stats,
    IRandomSource random,
    TimeProvider time) : IServerChannel
{
    /// <summary>The longest a failed server is left alone before the next request tries it again.</summary>
    internal static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);

    /// <summary>Longest an inventory report may take.</summary>
    private static readonly TimeSpan InventoryTimeout = TimeSpan.FromSeconds(30);

    private readonly SemaphoreSlim _sessionLock = new(1, 1);
    private readonly RetryWindow _down = new(new RetryPolicy(new Backoff(transportOptions.ReconnectBackoff, MaxBackoff), RetryPolicy.Unlimited, random, time), time);
    private Session? _session;
    private string _lastError = string.Empty;
    private int _sessions;

    public string Name => $"{host}:{port}";

    public bool IsLocal => false;

    public int SessionNumber => Volatile.Read(ref _sessions);

    /// <summary>Asks in the compact form, and spells the answer out against the session it came on (<see cref="LookupResult.Expand"/>).</summary>
    public async Task<LookupResult> LookupAsync(Lookup lookup, CancellationToken ct)
    {
        var (answer, session) = await RequestOnSessionAsync<LookupResult>(lookup with { CompactHit = true }, ct).ConfigureAwait(false);
        return answer.Expand(session.ServerNodeId, session.HttpBase);
    }

    public Task<Ack> RenewClaimAsync(ClaimRenew renew, CancellationToken ct) => RequestAsync<Ack>(renew, ct);

    public async Task ReleaseAsync(ulong claimId, string reason, CancellationToken ct) =>
        await RequestAsync<Ack>(new ClaimRelease(claimId, reason.Length > 500 ? reason[..500] : reason), ct).ConfigureAwait(false);

    public async Task<bool> PushAsync(PatchSpec patch, ulong claimId, bool bodySent, CancellationToken ct)
    {
        if (!bodySent)
        {
            var session = await SessionAsync(ct).ConfigureAwait(false);
            var stream = store.OpenRead(patch.Sha256) ?? throw new IOException($"blob {patch.Sha256} vanished before its push");
            await using (stream.ConfigureAwait(false))
            {
                await PutAsync(session, patch, stream, ct).ConfigureAwait(false);
            }
        }

        var ack = await RequestAsync<Ack>(new PushDone(claimId, patch.Sha256, patch.Size), ct).ConfigureAwait(false);
        return ack.Ok;
    }

    public async Task<bool> StreamPushAsync(PatchSpec patch, CancellationToken ct)
    {
        try
        {
            var session = await SessionAsync(ct).ConfigureAwait(false);

            // The download's write starts once the upstream answers; follow it from then on.
            LiveBlobStream? live;
            while ((live = store.OpenLive(patch.Sha256)) is null)
            {
                if (store.Contains(patch.Sha256))
                {
                    return false; // already complete: the ordinary push is as quick
                }

                await store.WhenChangedAsync(TimeSpan.FromMilliseconds(250), ct).ConfigureAwait(false);
                ct.ThrowIfCancellationRequested();
            }

            await using (live.ConfigureAwait(false))
            {
                await PutAsync(session, patch, live, ct).ConfigureAwait(false);
                return true;
            }
        }
        catch (Exception e) when (e is LanUnavailableException or HttpRequestException or IOException or OperationCanceledException)
        {
            return false; // the download failed or was retried, the server refused, or the pass ended: push afterwards
        }
    }

    /// <summary>
    /// One streamed PUT of <paramref name="body"/> (declared at the patch's size); throws when the server does not store
    /// it, or leaves it waiting for <see cref="TransferOptions.LanStallTimeout"/> (<see cref="PushStallGuard"/>): the
    /// patch is fine, only the LAN copy is lost, and the claim expires with its lease.
    /// </summary>
    private async Task PutAsync(Session session, PatchSpec patch, Stream body, CancellationToken ct)
    {
        using var stall = new PushStallGuard(transferOptions.LanStallTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, stall.Token);
        using var request = PushRequest(session.HttpBase, patch, body, self.NodeId, stall);
        try
        {
            stall.Arm(); // the connection and the headers; the body disarms it while it waits for its source
            using var response = await lanHttp.SendAsync(request, linked.Token).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.PreconditionFailed)
            {
                return; // the server holds it already (and recorded the patch's name): the body was not sent
            }

            if (!response.IsSuccessStatusCode)
            {
                var text = await response.Content.ReadAsStringAsync(linked.Token).ConfigureAwait(false);
                throw new LanUnavailableException($"server refused the push: {(int)response.StatusCode} {text}");
            }

            if (response.StatusCode == HttpStatusCode.Created)
            {
                stats.AddLanBytesPushed(patch.Size);
            }
        }
        catch (Exception e) when (stall.Fired && !ct.IsCancellationRequested && e is OperationCanceledException or HttpRequestException or IOException)
        {
            throw new LanUnavailableException($"push to {Name} stalled: the server took no bytes and sent no answer for {stall.Bound.TotalSeconds:0.###} s", e);
        }
    }

    /// <summary>
    /// The PUT of a push. <c>If-None-Match: *</c> asks the server to store it only if it has no such blob, and
    /// <c>Expect: 100-continue</c> holds the body back until the server agrees: a server that already holds the blob
    /// answers 412 before the body, and since HttpClient withholds the body only for a final status of 300 or more
    /// (a 200 would still send every byte), that answer keeps a blob the server has from crossing the LAN again.
    /// </summary>
    internal static HttpRequestMessage PushRequest(Uri serverHttp, PatchSpec patch, Stream body, string nodeId, PushStallGuard? stall = null)
    {
        var url = BlobUrl.PushTo(serverHttp, patch.Sha256, patch.OsVersion, patch.Name, Protocol.Text.SecretRedaction.RedactUrl(patch.Url.ToString()));
        var content = new FlushingStreamContent(body, 128 * 1024, stall);
        content.Headers.ContentLength = patch.Size;
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        var request = new HttpRequestMessage(HttpMethod.Put, url) { Content = content };
        request.Headers.Add(ApiHeaders.NodeId, nodeId);
        request.Headers.IfNoneMatch.Add(EntityTagHeaderValue.Any);
        request.Headers.ExpectContinue = true;
        return request;
    }

    public Task ConnectAsync(CancellationToken ct) => SessionAsync(ct);

    public async Task<Uri> HttpBaseAsync(CancellationToken ct) => (await SessionAsync(ct).ConfigureAwait(false)).HttpBase;

    public Uri ResolveBlobUrl(string blobUrl) =>
        blobUrl.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || blobUrl.StartsWith("https://", StringComparison.OrdinalIgnoreCase)
            ? new Uri(blobUrl)
            : new Uri(_session?.HttpBase ?? throw new LanUnavailableException("no session with the server"), blobUrl.TrimStart('/'));

    private async Task<T> RequestAsync<T>(IMessage request, CancellationToken ct)
        where T : class, IMessage =>
        (await RequestOnSessionAsync<T>(request, ct).ConfigureAwait(false)).Reply;

    private async Task<(T Reply, Session Session)> RequestOnSessionAsync<T>(IMessage request, CancellationToken ct)
        where T : class, IMessage
    {
        var session = await SessionAsync(ct).ConfigureAwait(false);
        var reply = await transport.RequestAsync(session.Peer, request, options.LookupTimeout, ct).ConfigureAwait(false);
        return reply switch
        {
            T typed => (typed, session),
            ErrorReply error => throw new LanUnavailableException($"server {Name} refused: {error.Code} {error.Message}"),
            _ => throw new LanUnavailableException($"server {Name} answered {reply.GetType().Name} to {request.GetType().Name}"),
        };
    }

    private async Task<Session> SessionAsync(CancellationToken ct)
    {
        var current = _session;
        if (current is not null && current.Peer.IsConnected)
        {
            return current;
        }

        await _sessionLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            current = _session;
            if (current is not null && current.Peer.IsConnected)
            {
                return current;
            }

            // A server that just failed is not retried on every patch: fail fast for a growing while.
            if (_down.IsClosed(out var remaining))
            {
                throw new LanUnavailableException($"server {Name} unreachable ({_lastError}); next try in {remaining.TotalSeconds:0.0} s");
            }

            try
            {
                _session = await OpenSessionAsync(ct).ConfigureAwait(false);
                _down.Succeeded();
                Interlocked.Increment(ref _sessions);
                sessionOpened(this); // a new session may be a new server: the inventory reporter tells it what this node holds
                return _session;
            }
            catch (LanUnavailableException e)
            {
                _lastError = e.Message;
                _down.Failed();
                throw;
            }
        }
        finally
        {
            _sessionLock.Release();
        }
    }

    public async Task ReportInventoryAsync(IReadOnlyList<InventoryEntry> entries, CancellationToken ct, InventoryKind kind = InventoryKind.Full)
    {
        var path = kind switch { InventoryKind.Added => "v1/inventory?delta=1", InventoryKind.Gone => "v1/inventory?gone=1", _ => "v1/inventory" };
        await PostReportAsync(path, JsonContent.Create(entries, StatusJsonContext.Default.IReadOnlyListInventoryEntry), "the inventory", withHttpPort: true, ct).ConfigureAwait(false);
    }

    public Task ReportSourceFaultsAsync(IReadOnlyList<SourceFault> faults, CancellationToken ct) =>
        PostReportAsync("v1/sources/faults", JsonContent.Create(faults, StatusJsonContext.Default.IReadOnlyListSourceFault), "the source faults", withHttpPort: false, ct);

    /// <summary>
    /// POSTs a report (JSON, signed by the LAN client with a key) to the server within <see cref="InventoryTimeout"/>;
    /// throws <see cref="LanUnavailableException"/> unless it answered 2xx.
    /// </summary>
    private async Task PostReportAsync(string path, HttpContent content, string what, bool withHttpPort, CancellationToken ct)
    {
        var session = await SessionAsync(ct).ConfigureAwait(false);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(session.HttpBase, path)) { Content = content };
        request.Headers.Add(ApiHeaders.NodeId, self.NodeId);
        if (withHttpPort)
        {
            request.Headers.Add(ApiHeaders.HttpPort, ownHttp.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        using var timeout = new CancellationTokenSource(InventoryTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
        using var response = await lanHttp.SendAsync(request, linked.Token).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new LanUnavailableException($"server {Name} refused {what}: {(int)response.StatusCode}");
        }
    }

    public async Task<ComplianceReply> ReportComplianceAsync(ComplianceReport report, CancellationToken ct)
    {
        var session = await SessionAsync(ct).ConfigureAwait(false);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(session.HttpBase, "v1/compliance")) { Content = JsonContent.Create(report, StatusJsonContext.Default.ComplianceReport) };
        request.Headers.Add(ApiHeaders.NodeId, self.NodeId);
        using var timeout = new CancellationTokenSource(InventoryTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
        using var response = await lanHttp.SendAsync(request, linked.Token).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new LanUnavailableException($"server {Name} refused the compliance report: {(int)response.StatusCode}");
        }

        // The reply is bounded like any LAN answer: the known-node list is capped, a larger body is refused.
        var stream = await response.Content.ReadAsStreamAsync(linked.Token).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            var bounded = new BoundedReadStream(stream, ComplianceReport.MaxBodyBytes);
            try
            {
                return await System.Text.Json.JsonSerializer.DeserializeAsync(bounded, StatusJsonContext.Default.ComplianceReply, linked.Token).ConfigureAwait(false)
                    ?? throw new LanUnavailableException($"server {Name} sent an empty compliance reply");
            }
            catch (System.Text.Json.JsonException e)
            {
                throw new LanUnavailableException($"server {Name} sent a malformed compliance reply{(bounded.Exceeded ? " (too large)" : string.Empty)}: {e.Message}");
            }
        }
    }

    private async Task<Session> OpenSessionAsync(CancellationToken ct)
    {
        var endPoint = await ResolveAsync(ct).ConfigureAwait(false);
        var peer = await transport.ConnectAsync(endPoint, ct).ConfigureAwait(false);
        var hello = new Hello(self.NodeId, self.InstanceId, self.OsVersion, ownHttp.Port, self.SoftwareVersion);
        var reply = await transport.RequestAsync(peer, hello, options.LookupTimeout, ct).ConfigureAwait(false);
        if (reply is not HelloAck ack)
        {
            throw new LanUnavailableException($"server {Name} answered {reply.GetType().Name} to Hello");
        }

        var address = endPoint.Address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{endPoint.Address}]" : endPoint.Address.ToString();
        return new Session(peer, new Uri($"http://{address}:{ack.HttpPort}/"), ack.NodeId);
    }

    private async Task<IPEndPoint> ResolveAsync(CancellationToken ct)
    {
        if (IPAddress.TryParse(host, out var ip))
        {
            return new IPEndPoint(ip, port);
        }

        try
        {
            var addresses = await Dns.GetHostAddressesAsync(host, ct).ConfigureAwait(false);
            var chosen = addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses.FirstOrDefault()
                ?? throw new LanUnavailableException($"server host {host} has no address");
            return new IPEndPoint(chosen, port);
        }
        catch (SocketException e)
        {
            throw new LanUnavailableException($"server host {host} does not resolve: {e.Message}", e);
        }
    }

    private sealed record Session(LanPeer Peer, Uri HttpBase, string ServerNodeId);
}
