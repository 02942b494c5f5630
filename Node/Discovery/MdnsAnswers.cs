using PeerPatch.Protocol.Mdns;

namespace PeerPatch.Node.Discovery;

/// <summary>
/// Which of our records answer a query (RFC 6762 §6, RFC 6763 §12): PTR for the service type (with SRV, TXT and
/// A as additional records), SRV/TXT for the instance, A for the host, the type for DNS-SD enumeration.
/// Known answers in the query with at least half our TTL left are not repeated (§7.1). Pure: no I/O, no time.
/// </summary>
internal static class MdnsAnswers
{
    public static (List<DnsRecord> Answers, List<DnsRecord> Additionals) For(DnsMessage query, IReadOnlyList<DnsRecord> ours)
    {
        var answers = new List<DnsRecord>();
        foreach (var question in query.Questions)
        {
            foreach (var record in ours)
            {
                if (record.Name.Equals(question.Name) && (question.Type == DnsType.Any || question.Type == record.Type)
                    && !answers.Contains(record) && !IsKnown(query, record))
                {
                    answers.Add(record);
                }
            }
        }

        var additionals = new List<DnsRecord>();
        foreach (var ptr in answers.OfType<PtrRecord>())
        {
            foreach (var record in ours.Where(r => r.Name.Equals(ptr.Target) && r is SrvRecord or TxtRecord))
            {
                AddOnce(additionals, answers, record);
            }
        }

        foreach (var srv in answers.Concat(additionals).OfType<SrvRecord>().ToList())
        {
            foreach (var record in ours.Where(r => r is AddressRecord && r.Name.Equals(srv.Target)))
            {
                AddOnce(additionals, answers, record);
            }
        }

        return (answers, additionals);
    }

    /// <summary>A legacy unicast reply (§6.7): the query's id and questions, TTLs of at most 10 s, no cache-flush bits.</summary>
    public static DnsMessage LegacyUnicast(DnsMessage query, List<DnsRecord> answers, List<DnsRecord> additionals) =>
        new(query.Id, true, true, query.Questions, answers.Select(Legacy).ToList(), [], additionals.Select(Legacy).ToList());

    private static DnsRecord Legacy(DnsRecord record) => record switch
    {
        PtrRecord p => p with { Ttl = Math.Min(p.Ttl, 10) },
        SrvRecord s => s with { Ttl = Math.Min(s.Ttl, 10), CacheFlush = false },
        TxtRecord t => t with { Ttl = Math.Min(t.Ttl, 10), CacheFlush = false },
        AddressRecord a => a with { Ttl = Math.Min(a.Ttl, 10), CacheFlush = false },
        _ => record,
    };

    private static bool IsKnown(DnsMessage query, DnsRecord record) =>
        query.Answers.Any(known => SameData(known, record) && known.Ttl >= record.Ttl / 2);

    /// <summary>Same name, type and data, whatever the TTL and cache-flush bit.</summary>
    public static bool SameData(DnsRecord a, DnsRecord b) => (a, b) switch
    {
        (PtrRecord x, PtrRecord y) => x.Name.Equals(y.Name) && x.Target.Equals(y.Target),
        (SrvRecord x, SrvRecord y) => x.Name.Equals(y.Name) && x.Port == y.Port && x.Target.Equals(y.Target),
        (TxtRecord x, TxtRecord y) => x.Name.Equals(y.Name) && x.Strings.SequenceEqual(y.Strings),
        (AddressRecord x, AddressRecord y) => x.Name.Equals(y.Name) && x.Address.Equals(y.Address),
        _ => false,
    };

    private static void AddOnce(List<DnsRecord> additionals, List<DnsRecord> answers, DnsRecord record)
    {
        if (!answers.Contains(record) && !additionals.Contains(record))
        {
            additionals.Add(record);
        }
    }
}
