using System.Net;
using PeerPatch.Protocol.Mdns;

namespace PeerPatch.Node.Tests.Protocol.Mdns;

/// <summary>The DNS codec against packets captured from an independent implementation (python3-zeroconf).</summary>
public sealed class DnsCodecTests
{
    private static readonly DnsName Service = DnsName.Parse("_peerpatch._udp.local");
    private static readonly DnsName Instance = DnsName.Instance("Zeroconf Test", Service);

    [Fact]
    public void ZeroconfAnnouncement_DecodesToPtrSrvTxtAndA()
    {
        var message = DnsCodec.Decode(Captured("announce"));

        Assert.True(message.IsResponse);
        Assert.True(message.Authoritative);
        var ptr = Assert.Single(message.AllRecords.OfType<PtrRecord>());
        Assert.Equal(Service, ptr.Name);
        Assert.Equal(Instance, ptr.Target);
        var srv = Assert.Single(message.AllRecords.OfType<SrvRecord>());
        Assert.Equal(Instance, srv.Name);
        Assert.Equal(47470, srv.Port);
        Assert.Equal(DnsName.Parse("zc-host.local"), srv.Target);
        Assert.True(srv.CacheFlush);
        var txt = Assert.Single(message.AllRecords.OfType<TxtRecord>()).Pairs();
        Assert.Equal("nzeroconf", txt["id"]);
        Assert.Equal("47471", txt["http"]);
        Assert.Equal(string.Empty, txt["cluster"]);
        var a = Assert.Single(message.AllRecords.OfType<AddressRecord>());
        Assert.Equal(IPAddress.Loopback, a.Address);
        Assert.Equal(DnsName.Parse("zc-host.local"), a.Name);
    }

    [Fact]
    public void ZeroconfProbe_AsksWithTheUnicastBit_AndCarriesItsProposedRecordsInAuthority()
    {
        var message = DnsCodec.Decode(Captured("probe"));

        Assert.False(message.IsResponse);
        var question = Assert.Single(message.Questions);
        Assert.True(question.UnicastResponse);
        Assert.NotEmpty(message.Authorities);
    }

    [Fact]
    public void ZeroconfGoodbye_HasTtlZero()
    {
        var message = DnsCodec.Decode(Captured("goodbye"));

        Assert.All(message.Answers, r => Assert.Equal(0u, r.Ttl));
        Assert.Contains(message.Answers, r => r is PtrRecord);
    }

    [Fact]
    public void ZeroconfQueries_AskForTheServiceType_WithKnownAnswers()
    {
        var plain = DnsCodec.Decode(Captured("query"));
        var knownAnswer = DnsCodec.Decode(Captured("known-answer-query"));

        Assert.Equal(new DnsQuestion(Service, DnsType.Ptr), Assert.Single(plain.Questions));
        Assert.Equal(Instance, Assert.IsType<PtrRecord>(Assert.Single(knownAnswer.Answers)).Target);
    }

    [Theory]
    [InlineData("probe")]
    [InlineData("announce")]
    [InlineData("known-answer-query")]
    [InlineData("goodbye")]
    [InlineData("query")]
    public void CapturedPackets_SurviveAReencodeRoundTrip_NoLargerThanTheOriginal(string label)
    {
        var original = Captured(label);
        var decoded = DnsCodec.Decode(original);

        var encoded = DnsCodec.Encode(decoded);
        var again = DnsCodec.Decode(encoded);

        Assert.Equal(decoded.Questions, again.Questions);
        Assert.Equal(decoded.Answers, again.Answers);
        Assert.Equal(decoded.Authorities, again.Authorities);
        Assert.Equal(decoded.Additionals, again.Additionals);
        Assert.True(encoded.Length <= original.Length, $"{encoded.Length} > {original.Length}");
    }

    [Fact]
    public void OurAnnouncement_CompressesRepeatedNames()
    {
        var host = DnsName.Parse("pc-1.local");
        var message = DnsMessage.Response(
            [new PtrRecord(Service, 4500, Instance), new SrvRecord(Instance, 120, true, 0, 0, 47470, host), new TxtRecord(Instance, 4500, true, ["v=1", "id=n1"])],
            [new AddressRecord(host, 120, true, IPAddress.Parse("10.0.0.5"))]);

        var bytes = DnsCodec.Encode(message);

        Assert.Equal(message.AllRecords, DnsCodec.Decode(bytes).AllRecords);
        Assert.True(bytes.Length < 160, $"{bytes.Length} bytes: names were not compressed");
    }

    [Fact]
    public void InstanceNamesWithDots_StayOneLabel()
    {
        var instance = DnsName.Instance("Build 1.2 (lab)", Service);
        var bytes = DnsCodec.Encode(DnsMessage.Response([new PtrRecord(Service, 10, instance)]));

        var target = Assert.IsType<PtrRecord>(DnsCodec.Decode(bytes).Answers[0]).Target;

        Assert.Equal("Build 1.2 (lab)", target.Labels[0]);
        Assert.Equal(4, target.Labels.Count);
    }

    [Fact]
    public void CompressionPointerLoop_IsRefused()
    {
        // One question whose name is a pointer to itself (offset 12).
        byte[] packet = [0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 12, 0, 1];

        Assert.False(DnsCodec.TryDecode(packet, out _, out var error));
        Assert.Contains("pointer", error);
    }

    [Fact]
    public void RandomAndTruncatedPackets_NeverThrow()
    {
        var random = new Random(6762);
        var seeds = new[] { "probe", "announce", "known-answer-query", "goodbye", "query" }.Select(Captured).ToList();
        var decoded = 0;
        for (var i = 0; i < 50_000; i++)
        {
            byte[] packet;
            if (i % 3 == 0)
            {
                packet = new byte[random.Next(0, 600)];
                random.NextBytes(packet);
            }
            else
            {
                var seed = seeds[random.Next(seeds.Count)];
                packet = seed[..random.Next(0, seed.Length + 1)];
                if (packet.Length > 0 && i % 3 == 1)
                {
                    packet[random.Next(packet.Length)] = (byte)random.Next(256);
                }
            }

            if (DnsCodec.TryDecode(packet, out _, out _))
            {
                decoded++;
            }
        }

        Assert.InRange(decoded, 1, 49_999);
    }

    [Fact]
    public void PacketOverTheMdnsLimit_IsRefused() =>
        Assert.False(DnsCodec.TryDecode(new byte[MdnsLimits.MaxPacketBytes + 1], out _, out _));

    private static byte[] Captured(string label)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Protocol", "Mdns", "zeroconf-packets.txt");
        var line = File.ReadLines(path).Single(l => l.StartsWith(label + " ", StringComparison.Ordinal));
        return Convert.FromHexString(line[(label.Length + 1)..]);
    }
}
