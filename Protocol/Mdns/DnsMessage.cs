namespace PeerPatch.Protocol.Mdns;

/// <summary>A DNS message: header fields and four sections.</summary>
public sealed record DnsMessage(
    ushort Id,
    bool IsResponse,
    bool Authoritative,
    IReadOnlyList<DnsQuestion> Questions,
    IReadOnlyList<DnsRecord> Answers,
    IReadOnlyList<DnsRecord> Authorities,
    IReadOnlyList<DnsRecord> Additionals)
{
    /// <summary>
    /// The TC bit (RFC 6762 §18.5): in a query, more known-answer packets follow from the same sender (§7.2).
    /// </summary>
    public bool Truncated { get; init; }

    public static DnsMessage Query(params DnsQuestion[] questions) => new(0, false, false, questions, [], [], []);

    public static DnsMessage Response(IReadOnlyList<DnsRecord> answers, IReadOnlyList<DnsRecord>? additionals = null) =>
        new(0, true, true, [], answers, [], additionals ?? []);

    /// <summary>Answers, authorities and additionals together.</summary>
    public IEnumerable<DnsRecord> AllRecords => Answers.Concat(Authorities).Concat(Additionals);
}
