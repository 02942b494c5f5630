using Prometheus;

namespace PeerPatch.Node.Primitives;

/// <summary>
/// The node's counters, kept as Prometheus collectors in the node's own registry (no static state): GET /metrics
/// exports them as they are, /v1/status reads the same values. Thread-safe.
/// </summary>
internal sealed class NodeStats
{
    private static readonly double[] LatencyBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
    private static readonly double[] WaitBuckets = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 1800];

    private readonly Counter.Child _internetIn;
    private readonly Counter.Child _lanFetched;
    private readonly Counter.Child _lanServed;
    private readonly Counter.Child _lanPushed;
    private readonly Counter.Child _lanReceived;
    private readonly Counter.Child _hits;
    private readonly Counter.Child _misses;
    private readonly Counter.Child _inFlight;
    private readonly Counter.Child _pushesAccepted;
    private readonly Counter.Child _pushesRejected;
    private readonly Counter.Child _servedAsServer;
    private readonly Counter.Child _servedAsPeer;
    private readonly Counter _uploadsBusy;
    private readonly Counter _uploadsClientCapped;
    private readonly Counter.Child _blobReadsUnsigned;
    private readonly Counter.Child _blobReadsWrongKey;
    private readonly Counter _lanFailures;
    private readonly Counter _fallbacks;
    private readonly Counter _corrupt;
    private readonly Counter _badDatagrams;
    private readonly Counter _connectionsRefused;
    private readonly Counter _applied;
    private readonly Counter _claimWaits;
    private readonly Histogram _claimWaitSeconds;
    private readonly Histogram _lookupSeconds;
    private readonly Counter _elections;
    private readonly Counter _proxyRefused;
    private readonly Counter.Child _swarmFromPeers;
    private readonly Counter.Child _swarmFromServer;
    private readonly Counter _badPieces;
    private readonly Counter _sourcesDropped;

    public NodeStats()
        : this(Metrics.NewCustomRegistry())
    {
    }

    public NodeStats(CollectorRegistry registry)
    {
        Registry = registry;
        var f = Factory(registry);
        var bytes = f.CreateCounter("peerpatch_bytes_total", "Patch bytes moved, by source (lan, internet), direction (in, out) and kind (download, fetch, serve, push, receive).", ["source", "direction", "kind"]);
        _internetIn = bytes.WithLabels("internet", "in", "download");
        _lanFetched = bytes.WithLabels("lan", "in", "fetch");
        _lanReceived = bytes.WithLabels("lan", "in", "receive");
        _lanServed = bytes.WithLabels("lan", "out", "serve");
        _lanPushed = bytes.WithLabels("lan", "out", "push");
        var served = f.CreateCounter("peerpatch_lan_served_bytes_total", "Blob bytes this node sent to other nodes over HTTP, by the role it had (server: the elected LAN server; peer: any other node).", ["role"]);
        _servedAsServer = served.WithLabels("server");
        _servedAsPeer = served.WithLabels("peer");
        _uploadsBusy = f.CreateCounter("peerpatch_uploads_busy_total", "Blob GETs answered 503 with Retry-After for want of an upload slot: every slot taken, or the client's share of them.");
        _uploadsClientCapped = f.CreateCounter("peerpatch_uploads_client_capped_total", "Of the busy answers, those whose client address already held its UploadSlotsPerClient slots.");
        var refused = f.CreateCounter("peerpatch_blob_reads_refused_total", "Blob and piece-list GETs refused for want of the cluster key, by reason (unsigned: 401, wrong_key: 403).", ["reason"]);
        _blobReadsUnsigned = refused.WithLabels("unsigned");
        _blobReadsWrongKey = refused.WithLabels("wrong_key");
        var lookups = f.CreateCounter("peerpatch_lookups_total", "Lookups this node answered as LAN server, by result.", ["result"]);
        _hits = lookups.WithLabels("hit");
        _misses = lookups.WithLabels("miss");
        _inFlight = lookups.WithLabels("in_flight");
        var pushes = f.CreateCounter("peerpatch_pushes_total", "Blob pushes this node received as LAN server, by result.", ["result"]);
        _pushesAccepted = pushes.WithLabels("accepted");
        _pushesRejected = pushes.WithLabels("rejected");
        _lanFailures = f.CreateCounter("peerpatch_lan_failures_total", "LAN fetches that failed (wrong bytes, refused, stalled) and fell back to the internet.");
        _fallbacks = f.CreateCounter("peerpatch_fallbacks_total", "Patches downloaded straight from the internet because the LAN server could not help.");
        _corrupt = f.CreateCounter("peerpatch_corrupt_blobs_total", "Stored blobs found not to match their SHA-256 (and removed).");
        _badDatagrams = f.CreateCounter("peerpatch_bad_datagrams_total", "LAN datagrams dropped as malformed, oversized, unauthenticated or replayed.");
        _connectionsRefused = f.CreateCounter("peerpatch_http_connections_refused_total", "HTTP connections closed at once because their address held too many.");
        _applied = f.CreateCounter("peerpatch_patches_applied_total", "Patches this node applied.");
        _claimWaits = f.CreateCounter("peerpatch_claim_waits_total", "Times this node waited because another node was downloading the same patch.");
        _claimWaitSeconds = f.CreateHistogram("peerpatch_claim_wait_seconds", "Time one patch spent waiting for another node's download.", new HistogramConfiguration { Buckets = WaitBuckets });
        _lookupSeconds = f.CreateHistogram("peerpatch_lookup_duration_seconds", "Round trip of a lookup at the LAN server, as this node saw it.", new HistogramConfiguration { Buckets = LatencyBuckets });
        _elections = f.CreateCounter("peerpatch_elections_total", "Changes of this node's cluster view (new server or term).");
        _proxyRefused = f.CreateCounter("peerpatch_apt_proxy_refused_total", "Proxy requests the apt proxy refused (403), by reason (not_apt_path, not_listed, this_machine, method).", ["reason"]);
        var pieceBytes = f.CreateCounter("peerpatch_piece_bytes_received_total", "Blob bytes this node received in pieces from several LAN sources, by sender (peer: another holder; server: the LAN server); also counted in peerpatch_bytes_total as LAN fetch bytes.", ["from"]);
        _swarmFromPeers = pieceBytes.WithLabels("peer");
        _swarmFromServer = pieceBytes.WithLabels("server");
        _badPieces = f.CreateCounter("peerpatch_bad_pieces_total", "Pieces a LAN source sent that did not match their piece hash (that source is dropped for the patch).");
        _sourcesDropped = f.CreateCounter("peerpatch_sources_dropped_total", "LAN sources this node stopped using for a patch (bad piece or piece list, 404/410, repeated failures).");
    }

    /// <summary>
    /// A factory for metrics in <paramref name="registry"/> that records no exemplars. prometheus-net otherwise looks up
    /// the trace context and stores an exemplar on every increment (byte counters move once per socket read); the node
    /// exports the text format, which carries no exemplars, so that work bought nothing.
    /// </summary>
    public static IMetricFactory Factory(CollectorRegistry registry)
    {
        var f = Metrics.WithCustomRegistry(registry);
        f.ExemplarBehavior = new ExemplarBehavior { DefaultExemplarProvider = static (_, _) => Exemplar.None };
        return f;
    }

    /// <summary>The node's metric registry (exported at GET /metrics).</summary>
    public CollectorRegistry Registry { get; }

    public long LanBytesServed => Read(_lanServed);

    public long LanBytesFetched => Read(_lanFetched);

    public long LanBytesPushed => Read(_lanPushed);

    public long LanBytesReceived => Read(_lanReceived);

    public long InternetBytes => Read(_internetIn);

    public long Hits => Read(_hits);

    public long Misses => Read(_misses);

    public long InFlightAnswers => Read(_inFlight);

    public long PushesAccepted => Read(_pushesAccepted);

    public long PushesRejected => Read(_pushesRejected);

    public long LanFailures => (long)_lanFailures.Value;

    public long ServerFallbacks => (long)_fallbacks.Value;

    public long CorruptBlobsDetected => (long)_corrupt.Value;

    public long BadDatagrams => (long)_badDatagrams.Value;

    public long Applied => (long)_applied.Value;

    public long Elections => (long)_elections.Value;

    /// <summary>Blob bytes sent to another node, as the LAN server (<paramref name="asServer"/>) or as a peer; also counted in <see cref="LanBytesServed"/>.</summary>
    public void AddBlobBytesServed(long n, bool asServer)
    {
        _lanServed.Inc(n);
        (asServer ? _servedAsServer : _servedAsPeer).Inc(n);
    }

    /// <summary>Bytes this node served while it was the LAN server.</summary>
    public long BytesServedAsServer => Read(_servedAsServer);

    /// <summary>Bytes this node served while it was not the LAN server (peer-to-peer).</summary>
    public long BytesServedAsPeer => Read(_servedAsPeer);

    /// <summary>A blob GET was answered 503: every upload slot was taken, or (<paramref name="clientCapped"/>) its client's share of them.</summary>
    public void UploadBusy(bool clientCapped = false)
    {
        _uploadsBusy.Inc();
        if (clientCapped)
        {
            _uploadsClientCapped.Inc();
        }
    }

    /// <summary>Of <see cref="UploadsBusy"/>, those refused because the client address held its share of the slots.</summary>
    public long UploadsClientCapped => (long)_uploadsClientCapped.Value;

    /// <summary>Blob GETs answered 503 for want of an upload slot.</summary>
    public long UploadsBusy => (long)_uploadsBusy.Value;

    /// <summary>A blob or piece-list GET was refused: unsigned (401) or signed with another key (403).</summary>
    public void BlobReadRefused(bool unsigned) => (unsigned ? _blobReadsUnsigned : _blobReadsWrongKey).Inc();

    /// <summary>Blob and piece-list GETs refused for want of the cluster key.</summary>
    public long BlobReadsRefused => Read(_blobReadsUnsigned) + Read(_blobReadsWrongKey);

    public void AddLanBytesFetched(long n) => _lanFetched.Inc(n);

    public void AddLanBytesPushed(long n) => _lanPushed.Inc(n);

    public void AddLanBytesReceived(long n) => _lanReceived.Inc(n);

    /// <summary>Bytes of a piece fetch, from another holder (<paramref name="fromServer"/> false) or the server.</summary>
    public void AddPieceBytes(long n, bool fromServer)
    {
        (fromServer ? _swarmFromServer : _swarmFromPeers).Inc(n);
        _lanFetched.Inc(n);
    }

    public long PieceBytesFromPeers => Read(_swarmFromPeers);

    public long PieceBytesFromServer => Read(_swarmFromServer);

    public long BadPieces => (long)_badPieces.Value;

    public long SourcesDropped => (long)_sourcesDropped.Value;

    public void BadPiece() => _badPieces.Inc();

    public void SourceDropped() => _sourcesDropped.Inc();

    public void AddInternetBytes(long n) => _internetIn.Inc(n);

    public void Hit() => _hits.Inc();

    public void Miss() => _misses.Inc();

    public void InFlight() => _inFlight.Inc();

    public void PushAccepted() => _pushesAccepted.Inc();

    public void PushRejected() => _pushesRejected.Inc();

    public void LanFailure() => _lanFailures.Inc();

    public void ServerFallback() => _fallbacks.Inc();

    public void CorruptBlob() => _corrupt.Inc();

    public void BadDatagram() => _badDatagrams.Inc();

    public void ConnectionRefused() => _connectionsRefused.Inc();

    public void PatchApplied() => _applied.Inc();

    public void ClaimWait() => _claimWaits.Inc();

    public void ClaimWaited(TimeSpan waited) => _claimWaitSeconds.Observe(waited.TotalSeconds);

    public void LookupTook(TimeSpan elapsed) => _lookupSeconds.Observe(elapsed.TotalSeconds);

    public void Election() => _elections.Inc();

    /// <summary>Proxy requests refused, all reasons together.</summary>
    public long ProxyRefused => (long)_proxyRefused.GetAllLabelValues().Sum(l => _proxyRefused.WithLabels(l).Value);

    public void ProxyRefusal(string reason) => _proxyRefused.WithLabels(reason).Inc();

    // Counters hold doubles: exact for whole numbers up to 2^53 (8 PiB), far beyond what a node moves.
    private static long Read(Counter.Child c) => (long)c.Value;
}
