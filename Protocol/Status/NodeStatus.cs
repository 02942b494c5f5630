namespace PeerPatch.Protocol.Status;

/// <summary>
/// GET /v1/status: one node as the admin sees it. A JSON document (web casing), shared by the node that writes it
/// and by peerpatch-diag and the dashboard that read it; fields are only ever added.
/// </summary>
/// <param name="Protocol">The LAN protocol version (<see cref="ProtocolLimits.Version"/>): nodes of different versions do not talk.</param>
/// <param name="Role">"server" or "client".</param>
/// <param name="Server">HOST:PORT of the server this node uses, or null when it has none.</param>
/// <param name="Elected">True when the server is elected (role auto); false when configuration fixes it.</param>
/// <param name="Members">How many other nodes this node knows.</param>
/// <param name="ClusterId">The public id of the node's cluster key ("" on an open LAN): nodes with different ids never talk.</param>
/// <param name="Elections">Changes of this node's view (server or term) since start.</param>
/// <param name="ElectionsLastHour">The same, in the last hour: many means an unstable LAN.</param>
/// <param name="LastPass">This node's last update pass (null before its first): what it applied and what failed, with why.</param>
/// <param name="Transfers">What is moving now: each running update pass's patch and each apt-proxy fetch (null from nodes older than this field).</param>
public sealed record NodeStatus(
    string NodeId,
    string InstanceId,
    string Version,
    int Protocol,
    string Host,
    string Role,
    string? Server,
    string? ServerId,
    long Term,
    bool Elected,
    int Members,
    string Os,
    long Patches,
    BlobStatus Blobs,
    DiskStatus Disk,
    int ActiveClaims,
    long UptimeSeconds,
    bool UpdateRunning,
    int UdpPort,
    int HttpPort,
    int Peers,
    MdnsStatus Mdns,
    TrafficStats Stats,
    long Elections,
    long ElectionsLastHour,
    string ClusterId = "",
    PassStatus? LastPass = null,
    IReadOnlyList<TransferStatus>? Transfers = null);

/// <summary>The node's blob store.</summary>
/// <param name="CapacityBytes">The cache cap (0: none).</param>
/// <param name="HeldElsewhere">Blobs other nodes reported that this server has not pulled yet.</param>
public sealed record BlobStatus(int Count, long Bytes, long CapacityBytes, long Evictions, int HeldElsewhere);

/// <summary>The file system of the data directory.</summary>
public sealed record DiskStatus(long TotalBytes, long FreeBytes);

/// <summary>mDNS: the interfaces in use and the packets seen, sent and dropped as malformed.</summary>
public sealed record MdnsStatus(IReadOnlyList<string> Interfaces, long PacketsReceived, long PacketsSent, long Malformed);

/// <summary>Counters since the node started.</summary>
/// <param name="LanBytesServed">Blob bytes this node sent to other nodes (GET /v1/blobs).</param>
/// <param name="LanBytesFetched">Bytes this node got over the LAN: its own patches, and blobs a server pulls from the nodes that hold them.</param>
/// <param name="LanBytesPushed">Bytes this node pushed to the LAN server after an internet download.</param>
/// <param name="LanBytesReceived">Bytes other nodes pushed into this node's store (as server).</param>
/// <param name="InternetBytes">Patch bytes downloaded from the internet.</param>
/// <param name="Hits">Lookups this node answered with a hit (as server).</param>
/// <param name="Misses">Lookups answered with a miss, which hands out a download claim.</param>
/// <param name="InFlight">Lookups answered "another node is downloading it".</param>
/// <param name="Applied">Patches this node applied.</param>
/// <param name="ProxyRefused">Requests the apt proxy refused with 403 (not an apt file, an origin not listed, this machine).</param>
/// <param name="BytesServedAsServer">Of <paramref name="LanBytesServed"/>: bytes sent while this node was the LAN server.</param>
/// <param name="BytesServedAsPeer">Of <paramref name="LanBytesServed"/>: bytes sent while this node was not the server (peer-to-peer).</param>
/// <param name="UploadsBusy">Blob GETs answered 503 (Retry-After) because every upload slot was taken.</param>
/// <param name="BlobReadsRefused">Blob and piece-list GETs refused for want of the cluster key (401 unsigned, 403 wrong key).</param>
public sealed record TrafficStats(
    long LanBytesServed,
    long LanBytesFetched,
    long LanBytesPushed,
    long LanBytesReceived,
    long InternetBytes,
    long Hits,
    long Misses,
    long InFlight,
    long PushesAccepted,
    long PushesRejected,
    long LanFailures,
    long ServerFallbacks,
    long CorruptBlobsDetected,
    long BadDatagrams,
    long Applied,
    long ProxyRefused = 0,
    long BytesServedAsServer = 0,
    long BytesServedAsPeer = 0,
    long UploadsBusy = 0,
    long BlobReadsRefused = 0);
