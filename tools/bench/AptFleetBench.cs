using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace PeerPatch.Bench;

/// <summary>
/// The apt fleet: PCs in network namespaces run real `apt-get update` and `apt-get download` of every package of a
/// real Debian archive (AptArchive: real .deb files, signed InRelease) that an "internet" namespace's nginx serves
/// through a shaped uplink (tc tbf on its egress, shared by every PC). apt's state and configuration are private to
/// each PC and run (apt-pc.sh; nothing of the host's apt is read or written). Contenders, each from a cold start:
/// PeerPatch (a zero-config node per PC, apt's proxy = that PC's own node, as `peerpatch apt enable` sets it up);
/// apt-cacher-ng (on a namespace of its own, every PC's proxy); direct (no proxy). After the first round the archive
/// changes upstream (one package version added, a new signed InRelease) and every PC runs apt-get update and
/// downloads that package again: the new version must reach each one.
/// </summary>
internal sealed class AptFleetBench : IAsyncDisposable
{
    /// <summary>The version added upstream mid-run (listed in apt-fleet-debs.txt next to its older version).</summary>
    private const string AddedFile = "openssh-client_1%3a9.2p1-2+deb12u10_amd64.deb";
    private const int UpstreamPort = 8080;
    private const int PcTimeoutSeconds = 600;
    private readonly NetnsLan _lan;
    private readonly string _repo;
    private readonly string _work;
    private readonly Nginx _upstream;
    private readonly AptArchive _archive;
    private readonly AptArchive.Package[] _base;
    private readonly AptArchive.Package _added;
    private readonly int _pcs;

    private AptFleetBench(NetnsLan lan, string repo, string work, int pcs, Nginx upstream, AptArchive archive)
    {
        (_lan, _repo, _work, _pcs, _upstream, _archive) = (lan, repo, work, pcs, upstream, archive);
        _added = archive.All.Single(p => p.DownloadName == AddedFile);
        _base = [.. archive.All.Where(p => p != _added)];
    }

    public enum Contender
    {
        PeerPatch,
        AptCacherNg,
        Direct,
    }

    /// <summary>The .deb bytes one PC downloads: every package of the archive once.</summary>
    public long UniqueBytes => _base.Sum(p => p.Size);

    public int PackageCount => _base.Length;

    private int Cache => _pcs + 2;

    private string NodeAptDir => Path.Combine(_work, "node-apt");

    private string SourcesList => $"deb [signed-by={_archive.Key}] {_upstream.BaseUri}debian bookworm main\n";

    /// <summary>Fetches the real packages (cached), builds the archive, the LAN (PCs 1..N, the internet, the cache) and the shaped upstream.</summary>
    public static async Task<AptFleetBench> CreateAsync(string repo, string work, int pcs, double upstreamMegabytesPerSecond)
    {
        var debs = (await AptArchive.FetchAsync(Path.Combine(repo, "tools", "test-lan", "fetch-real-debs.sh")))
            .Concat(await AptArchive.FetchAsync(Path.Combine(repo, "tools", "bench", "fetch-bench-debs.sh"))).ToArray();
        var archive = await AptArchive.CreateAsync(repo, work, debs);
        var lan = await NetnsLan.CreateAsync(pcs + 2);
        try
        {
            var rate = ((long)(upstreamMegabytesPerSecond * 8_000_000)).ToString(CultureInfo.InvariantCulture) + "bit";
            var (code, _, error) = await lan.ExecAsync(pcs + 1, "tc", "qdisc", "add", "dev", "eth0", "root", "tbf", "rate", rate, "burst", "64kb", "latency", "200ms");
            if (code != 0)
            {
                throw new InvalidOperationException("tc: " + error);
            }

            var upstream = await Nginx.StartAsync(Path.Combine(work, "upstream-nginx"), archive.Root, lan.Address(pcs + 1), UpstreamPort, lan.Namespace(pcs + 1), log: true);
            var bench = new AptFleetBench(lan, repo, work, pcs, upstream, archive);
            await archive.PublishAsync(bench._base);
            Directory.CreateDirectory(bench.NodeAptDir);
            await File.WriteAllTextAsync(Path.Combine(bench.NodeAptDir, "sources.list"), bench.SourcesList);
            return bench;
        }
        catch
        {
            await lan.DisposeAsync();
            throw;
        }
    }

    /// <summary>One contender on PCs 1..<paramref name="pcs"/>, cold: a first round, then the archive changes and a second.</summary>
    public async Task<Result> RunAsync(Contender contender, int pcs, int run)
    {
        var dir = Path.Combine(_work, $"{contender}-{pcs}-{run}");
        var nodes = new List<Process>();
        AptCacherNg? acng = null;
        try
        {
            string proxy;
            switch (contender)
            {
                case Contender.PeerPatch:
                    // The node relays to the origins apt's sources name: the same sources.list as every PC's.
                    Environment.SetEnvironmentVariable("PEERPATCH_APTSOURCESDIR", NodeAptDir);
                    try
                    {
                        for (var k = 1; k <= pcs; k++)
                        {
                            nodes.Add(await _lan.StartNodeAsync(_repo, k, dir));
                        }
                    }
                    finally
                    {
                        Environment.SetEnvironmentVariable("PEERPATCH_APTSOURCESDIR", null);
                    }

                    await _lan.AgreedServerAsync(pcs, TimeSpan.FromSeconds(120));
                    await Task.Delay(TimeSpan.FromSeconds(3)); // steady state: every node follows and has greeted the server
                    proxy = "http://127.0.0.1:47471/";
                    break;
                case Contender.AptCacherNg:
                    acng = await AptCacherNg.StartAsync(_lan.Namespace(Cache), _lan.Address(Cache), Path.Combine(dir, "acng"), UpstreamPort);
                    proxy = acng.Proxy;
                    break;
                default:
                    proxy = "DIRECT";
                    break;
            }

            for (var k = 1; k <= pcs; k++)
            {
                await WritePcAsync(Path.Combine(dir, $"pc{k}"), proxy);
            }

            var first = await RoundAsync(dir, pcs, _base);
            await _archive.PublishAsync(_base.Append(_added)); // the index changes upstream: one more version, a new signed InRelease
            var second = await RoundAsync(dir, pcs, [_added]);
            return new Result(first, second);
        }
        finally
        {
            foreach (var node in nodes)
            {
                node.Kill(entireProcessTree: true);
                await node.WaitForExitAsync();
            }

            if (acng is not null)
            {
                await acng.DisposeAsync();
            }

            await _archive.PublishAsync(_base); // back to the first index for the next contender
            if (Environment.GetEnvironmentVariable("PEERPATCH_BENCH_KEEP") is { Length: > 0 } keep)
            {
                FleetBench.CopyLogs(dir, Path.Combine(keep, $"apt-{contender}-{pcs}-{run}"));
            }
            else
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }

    public async ValueTask DisposeAsync() => await _lan.DisposeAsync();

    /// <summary>
    /// apt's private state for one PC: what `peerpatch apt enable` sets (the proxy, gz indexes), the bench archive
    /// with its key, nothing else (no host parts, no Translation files).
    /// </summary>
    private async Task WritePcAsync(string pc, string proxy)
    {
        foreach (var sub in new[] { "state/lists/partial", "cache/archives/partial", "etc/apt.conf.d", "etc/sources.list.d", "etc/preferences.d", "etc/trusted.gpg.d", "log" })
        {
            Directory.CreateDirectory(Path.Combine(pc, sub));
        }

        await File.WriteAllTextAsync(Path.Combine(pc, "state", "status"), string.Empty);
        await File.WriteAllTextAsync(Path.Combine(pc, "etc", "sources.list"), SourcesList);
        await File.WriteAllTextAsync(Path.Combine(pc, "apt.conf"), $$"""
            Dir::State "{{pc}}/state";
            Dir::State::status "{{pc}}/state/status";
            Dir::Cache "{{pc}}/cache";
            Dir::Etc "{{pc}}/etc";
            Dir::Log "{{pc}}/log";
            APT::Sandbox::User "root";
            APT::Architecture "amd64";
            APT::Architectures { "amd64"; };
            Acquire::Languages "none";
            Acquire::CompressionTypes::Order:: "gz";
            Acquire::http::Proxy "{{proxy}}";

            """);
    }

    /// <summary>Every PC at once: apt-get update, apt-get download of <paramref name="packages"/>, each file checked.</summary>
    private async Task<Round> RoundAsync(string dir, int pcs, IReadOnlyList<AptArchive.Package> packages)
    {
        var expected = Path.Combine(dir, $"expected-{Guid.NewGuid():N}.sha256");
        await File.WriteAllLinesAsync(expected, packages.Select(p => p.ChecksumLine));
        string[] names = [.. packages.Select(p => p.Name).Distinct()];
        var script = Path.Combine(_repo, "tools", "bench", "apt-pc.sh");
        await File.WriteAllTextAsync(_upstream.AccessLog, string.Empty); // nginx appends (O_APPEND): a truncated log restarts the count
        var clock = Stopwatch.StartNew();
        var done = await Task.WhenAll(Enumerable.Range(1, pcs).Select(async k =>
        {
            var (code, output, error) = await _lan.ExecAsync(k, ["timeout", PcTimeoutSeconds.ToString(CultureInfo.InvariantCulture), "bash", script, Path.Combine(dir, $"pc{k}"), expected, .. names]);
            return (Ok: code == 0, Error: $"exit {code}: {error}{output}");
        }));
        var seconds = clock.Elapsed.TotalSeconds;
        await Task.Delay(500); // nginx writes its log line as the response ends
        long debBytes = 0;
        var indexFetches = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var line in await File.ReadAllLinesAsync(_upstream.AccessLog))
        {
            var parts = line.Split(' ');
            if (parts.Length != 2 || !long.TryParse(parts[1], CultureInfo.InvariantCulture, out var bytes))
            {
                continue;
            }

            if (parts[0].EndsWith(".deb", StringComparison.Ordinal))
            {
                debBytes += bytes;
            }
            else if (parts[0].Contains("/dists/", StringComparison.Ordinal) && bytes > 0) // a 304 (not modified) has no body
            {
                indexFetches[parts[0]] = indexFetches.GetValueOrDefault(parts[0]) + 1;
            }
        }

        var failed = done.Where(d => !d.Ok).ToList();
        if (failed.Count > 0)
        {
            Console.WriteLine($"apt fleet: {failed.Count} PCs failed; first: {failed[0].Error[..Math.Min(failed[0].Error.Length, 600)]}");
        }

        return new Round(seconds, debBytes, packages.Sum(p => p.Size), indexFetches, pcs - failed.Count);
    }

    /// <summary>One round on every PC: time to the last one, upstream .deb bytes against the unique bytes, upstream fetches per index.</summary>
    public sealed record Round(double Seconds, long DebBytes, long UniqueBytes, IReadOnlyDictionary<string, int> IndexFetches, int VerifiedPcs)
    {
        public double Ratio => (double)DebBytes / UniqueBytes;

        /// <summary>The most times any one index crossed the uplink.</summary>
        public int MostFetchesOfOneIndex => IndexFetches.Count == 0 ? 0 : IndexFetches.Values.Max();

        public override string ToString() => string.Create(CultureInfo.InvariantCulture,
            $"{Seconds:0.0} s, .deb {Ratio:0.000}× unique, index fetches {string.Join(", ", IndexFetches.OrderBy(i => i.Key, StringComparer.Ordinal).Select(i => $"{Path.GetFileName(i.Key)} {i.Value}"))}, verified PCs {VerifiedPcs}");
    }

    /// <summary>A contender's run: the cold round, and the round after the archive changed upstream.</summary>
    public sealed record Result(Round First, Round Changed)
    {
        public override string ToString() => new StringBuilder("first: ").Append(First).Append("; after the change: ").Append(Changed).ToString();
    }
}
