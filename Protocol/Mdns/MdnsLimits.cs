namespace PeerPatch.Protocol.Mdns;

/// <summary>Limits applied to every DNS packet, before and while decoding.</summary>
public static class MdnsLimits
{
    /// <summary>Largest mDNS packet accepted (RFC 6762 §17: at most 9000 bytes).</summary>
    public const int MaxPacketBytes = 9000;

    /// <summary>
    /// Largest packet sent when its content can be split (a query's questions and known answers, RFC 6762 §7.2, §17):
    /// one Ethernet frame over IPv4 and IPv6 (1500 - 40 - 8). Larger packets are fragmented, and a lost fragment loses all.
    /// </summary>
    public const int MaxFrameBytes = 1452;

    /// <summary>Longest label (RFC 1035).</summary>
    public const int MaxLabelBytes = 63;

    /// <summary>Longest encoded name (RFC 1035).</summary>
    public const int MaxNameBytes = 255;

    /// <summary>Most compression pointers followed in one name; more means a loop.</summary>
    public const int MaxPointerJumps = 32;

    /// <summary>Most records of all sections in one packet.</summary>
    public const int MaxRecords = 512;

    /// <summary>Multicast group and port.</summary>
    public const int Port = 5353;
}
