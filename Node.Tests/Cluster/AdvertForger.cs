using System.Net;
using PeerPatch.Node.Cluster;

namespace PeerPatch.Node.Tests.Cluster;

/// <summary>
/// What a host without the key can say over mDNS, drawn at random per step from a seeded plan: copies of real members'
/// ids (at its own address, or at the real node's address with a forged TXT), huge, near-overflow and negative terms,
/// roles that flap, and many fake members that outrank every real node.
/// </summary>
internal sealed record AttackPlan(int Nodes, int Seed, TimeSpan Duration, bool CopyIds, bool AtRealAddress, bool Displace, int Fakes, bool FlapRoles)
{
    public static readonly IPAddress AttackerAddress = IPAddress.Parse("10.0.0.250");

    private static readonly long[] TermPalette = [999, long.MaxValue, long.MaxValue - 1, long.MaxValue - 7, -1, long.MinValue, 1L << 62, 0];

    public Func<DateTimeOffset, IReadOnlyList<(Member Advert, bool Displaces)>> Forge(SimulatedLan lan)
    {
        var step = 0;
        string? victimId = null;
        return now =>
        {
            var random = new Random(HashCode.Combine(Seed, step++));
            var forged = new List<(Member, bool)>();
            var honest = lan.Live.ToList();
            long Term(Elector? victim) => random.Next(4) switch
            {
                0 when victim is not null => victim.Term + random.Next(1, 3),
                1 when victim is not null => victim.Term + 1000,
                _ => TermPalette[random.Next(TermPalette.Length)],
            };

            bool Role() => !FlapRoles || random.Next(2) == 0;

            if (CopyIds && honest.Count > 0)
            {
                // One member for the whole attack (as a real forger copies one advert), now and then another.
                victimId ??= honest[Seed % honest.Count].SelfId;
                var victim = random.Next(10) == 0 ? honest[random.Next(honest.Count)] : honest.FirstOrDefault(n => n.SelfId == victimId) ?? honest[0];
                var address = AtRealAddress && random.Next(2) == 0 ? lan.AddressOf(victim.SelfId) : AttackerAddress;
                var port = address.Equals(AttackerAddress) ? 47470 : random.Next(2) == 0 ? 47470 : 40000 + random.Next(1000);
                forged.Add((new Member(victim.SelfId, address, port, 47471, random.Next(2) == 0 ? victim.Self.Priority : 1_000_000, victim.Self.Since, Role(), Term(victim)),
                    Displace && random.Next(10) != 0));
            }

            for (var i = 0; i < Fakes; i++)
            {
                var address = IPAddress.Parse($"10.0.1.{i % 250}");
                forged.Add((new Member($"f{i}", address, 47470, 47471, 1_000_000, 0, Role(), Term(null)), false));
            }

            return forged;
        };
    }

    public override string ToString() =>
        $"{Nodes} nodes, seed {Seed}, {Duration.TotalSeconds:0.0} s, copy ids {CopyIds} (real address {AtRealAddress}, displacing {Displace}), {Fakes} fakes, flapping {FlapRoles}";
}
