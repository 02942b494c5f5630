namespace PeerPatch.Node.Transport;

/// <summary>LiteNetLib settings.</summary>
internal sealed record TransportOptions
{
    /// <summary>Connection key: peers with another key (or protocol generation) are refused. Default "PeerPatch/1".</summary>
    public string ConnectionKey { get; init; } = "PeerPatch/1";

    /// <summary>How long to wait for a connection to the server. Default 2 s.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>After a failed connect, requests fail fast for this long instead of reconnecting. Default 1 s.</summary>
    public TimeSpan ReconnectBackoff { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>A silent peer is dropped after this long. Default 5 s.</summary>
    public TimeSpan DisconnectTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>No connected frame for this long and the transport ticks slowly (<see cref="TickPacer"/>). Default 2 s.</summary>
    public TimeSpan QuietAfter { get; init; } = TickPacer.DefaultQuietAfter;

    /// <summary>Most simultaneous peers (500 PCs and headroom). Default 2048.</summary>
    public int MaxPeers { get; init; } = 2048;
}
