using PeerPatch.Protocol.Mdns;

namespace PeerPatch.Node.Discovery;

/// <summary>
/// Splits a query into packets that fit one Ethernet frame (RFC 6762 §7.2, §17): questions as many per packet as fit,
/// then the known answers, continued in packets without questions when they do not fit, each packet but the last
/// with the TC bit so that responders wait for the rest. On a LAN of 500 nodes a browser knows ~500 PTRs (~20 KB),
/// more than one datagram or even the 9000-byte mDNS maximum. Pure: no I/O.
/// </summary>
internal static class MdnsQueryPackets
{
    public static IReadOnlyList<DnsMessage> Build(IReadOnlyList<DnsQuestion> questions, IReadOnlyList<DnsRecord> knownAnswers, int maxBytes = MdnsLimits.MaxFrameBytes)
    {
        var packets = new List<DnsMessage>();
        var q = 0;
        do
        {
            // Questions first: as many as fit (at least one, or an answer-only packet when there are none).
            var take = Fit(questions.Count - q, n => Size(Slice(questions, q, n), []), maxBytes);
            packets.Add(new DnsMessage(0, false, false, Slice(questions, q, Math.Max(take, Math.Min(1, questions.Count - q))), [], [], []));
            q += Math.Max(take, Math.Min(1, questions.Count - q));
        }
        while (q < questions.Count);

        var a = 0;
        while (a < knownAnswers.Count)
        {
            var last = packets[^1];
            var take = Fit(knownAnswers.Count - a, n => Size(last.Questions, Slice(knownAnswers, a, last.Answers.Count, n)), maxBytes);
            if (take == 0)
            {
                // The last packet is full: continue in a packet of known answers only, and mark this one truncated.
                packets[^1] = last with { Truncated = true };
                packets.Add(new DnsMessage(0, false, false, [], [], [], []));
                last = packets[^1];
                take = Math.Max(1, Fit(knownAnswers.Count - a, n => Size([], Slice(knownAnswers, a, 0, n)), maxBytes));
            }

            packets[^1] = last with { Answers = Slice(knownAnswers, a, last.Answers.Count, take) };
            a += take;
        }

        return packets;
    }

    /// <summary>The most items (0..available) for which <paramref name="size"/> stays within <paramref name="maxBytes"/>.</summary>
    private static int Fit(int available, Func<int, int> size, int maxBytes)
    {
        int lo = 0, hi = available;
        while (lo < hi)
        {
            var mid = (lo + hi + 1) / 2;
            if (size(mid) <= maxBytes)
            {
                lo = mid;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return lo;
    }

    private static int Size(IReadOnlyList<DnsQuestion> questions, IReadOnlyList<DnsRecord> answers)
    {
        try
        {
            return DnsCodec.Encode(new DnsMessage(0, false, false, questions, answers, [], [])).Length;
        }
        catch (DnsFormatException)
        {
            return int.MaxValue; // past the mDNS maximum
        }
    }

    private static List<T> Slice<T>(IReadOnlyList<T> items, int from, int count)
    {
        var list = new List<T>(count);
        for (var i = from; i < from + count; i++)
        {
            list.Add(items[i]);
        }

        return list;
    }

    /// <summary>The <paramref name="already"/> items before <paramref name="from"/> (already in the packet) and <paramref name="count"/> more.</summary>
    private static List<T> Slice<T>(IReadOnlyList<T> items, int from, int already, int count) => Slice(items, from - already, already + count);
}
