using System.Globalization;
using static PeerPatch.Bench.AptFleetBench;

namespace PeerPatch.Bench;

/// <summary>
/// The apt fleet's table: per fleet size, PeerPatch beside apt-cacher-ng and beside direct. The byte ratio and the
/// index fetches are the worst run (the goals hold "in every run"); times are medians; every run's figures go in the
/// notes.
/// </summary>
internal static class AptFleetReport
{
    public static void Add(Report report, AptFleetBench bench, IReadOnlyDictionary<(Contender Who, int Pcs), List<Result>> results)
    {
        foreach (var pcs in results.Keys.Select(k => k.Pcs).Distinct().Order())
        {
            var ours = results[(Contender.PeerPatch, pcs)];
            var acng = results[(Contender.AptCacherNg, pcs)];
            var direct = results[(Contender.Direct, pcs)];
            var what = $"Apt fleet, {pcs} PCs, {bench.PackageCount} real packages ({bench.UniqueBytes / 1e6:0.0} MB)";
            report.Add($"{what}: upstream .deb bytes / unique bytes, worst run", ours.Max(r => r.First.Ratio), acng.Max(r => r.First.Ratio), "", "apt-cacher-ng", "≤ 1.01", (o, _) => o <= 1.01);
            report.Add($"{what}: upstream .deb bytes / unique bytes, worst run, against every PC direct", ours.Max(r => r.First.Ratio), direct.Max(r => r.First.Ratio), "", "direct");
            report.Add($"{what}: upstream fetches of one index in one apt-get update round, most of any, worst run", ours.Max(r => r.First.MostFetchesOfOneIndex), acng.Max(r => r.First.MostFetchesOfOneIndex), "", "apt-cacher-ng", "≤ 1", (o, _) => o <= 1);
            report.Add($"{what}: the same, against every PC direct", ours.Max(r => r.First.MostFetchesOfOneIndex), direct.Max(r => r.First.MostFetchesOfOneIndex), "", "direct");
            report.Add($"{what}: time until the last PC is done (update, download, check)", Stats.Median(ours.Select(r => r.First.Seconds)), Stats.Median(acng.Select(r => r.First.Seconds)), "s", "apt-cacher-ng");
            report.Add($"{what}: the same, against every PC direct", Stats.Median(ours.Select(r => r.First.Seconds)), Stats.Median(direct.Select(r => r.First.Seconds)), "s", "direct");
            report.Add($"{what}: PCs on which apt verified every file (exit 0, every SHA-256 matches), fewest of any run", ours.Min(r => r.First.VerifiedPcs), acng.Min(r => r.First.VerifiedPcs), "", "apt-cacher-ng", $"= {pcs}", (o, _) => o == pcs);
            report.Add($"{pcs} PCs, index changed upstream: PCs whose next apt-get update and download got the new version, fewest of any run", ours.Min(r => r.Changed.VerifiedPcs), acng.Min(r => r.Changed.VerifiedPcs), "", "apt-cacher-ng", $"= {pcs}", (o, _) => o == pcs);
            report.Add($"{pcs} PCs, index changed upstream: upstream fetches of one index in that round, most of any, worst run", ours.Max(r => r.Changed.MostFetchesOfOneIndex), acng.Max(r => r.Changed.MostFetchesOfOneIndex), "", "apt-cacher-ng", "≤ 1", (o, _) => o <= 1);
            foreach (var (who, list) in new[] { ("PeerPatch", ours), ("apt-cacher-ng", acng), ("direct", direct) })
            {
                report.Note(string.Create(CultureInfo.InvariantCulture, $"Apt fleet, {pcs} PCs, {who}, run by run: ") + string.Join("; ", list.Select((r, i) => $"{i + 1}: {r}")));
            }
        }
    }
}
