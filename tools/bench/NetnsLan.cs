using System.Diagnostics;
using System.Text.Json;

namespace PeerPatch.Bench;

/// <summary>
/// PCs as network namespaces (root and iproute2): node k in namespace PREFIX-nk with eth0 = 10.232.X.k/24 on bridge
/// br0 in PREFIX-hub; the bench reaches the LAN through its own veth (10.232.X.254). Traffic stays on these veths.
/// Everything is named with a per-run prefix and deleted by name on dispose. (The tests' NetnsLan has more: splits,
/// a second bridge; the bench needs only this.)
/// </summary>
internal sealed class NetnsLan : IAsyncDisposable
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromMilliseconds(500) };
    private readonly int _nodes;

    private NetnsLan(int nodes, string prefix)
    {
        _nodes = nodes;
        Prefix = prefix + (Environment.ProcessId % 100000).ToString("x", System.Globalization.CultureInfo.InvariantCulture);
        Subnet = $"10.232.{Environment.ProcessId % 250}";
    }

    public string Prefix { get; }

    public string Subnet { get; }

    public string Hub => $"{Prefix}-hub";

    public static bool CanRun => Environment.UserName == "root" && (File.Exists("/usr/bin/ip") || File.Exists("/sbin/ip") || File.Exists("/usr/sbin/ip"));

    /// <param name="prefix">The names' prefix (the process id follows it): "ppb" by default, "pb" for the shaped fleet.</param>
    public static async Task<NetnsLan> CreateAsync(int nodes, string prefix = "ppb")
    {
        var lan = new NetnsLan(nodes, prefix);
        await lan.DisposeAsync();
        await Ip($"netns add {lan.Hub}");
        await Ip($"-n {lan.Hub} link add br0 type bridge");
        await Ip($"-n {lan.Hub} link set br0 up");
        await Ip($"link add {lan.Prefix}h type veth peer name {lan.Prefix}hp");
        await Ip($"link set {lan.Prefix}hp netns {lan.Hub}");
        await Ip($"-n {lan.Hub} link set {lan.Prefix}hp master br0 up");
        await Ip($"addr add {lan.Subnet}.254/24 dev {lan.Prefix}h");
        await Ip($"link set {lan.Prefix}h up");
        for (var k = 1; k <= nodes; k++)
        {
            var ns = lan.Namespace(k);
            await Ip($"netns add {ns}");
            await Ip($"-n {ns} link set lo up");
            await Ip($"link add {lan.Prefix}n{k} type veth peer name {lan.Prefix}e{k}");
            await Ip($"link set {lan.Prefix}n{k} netns {lan.Hub}");
            await Ip($"-n {lan.Hub} link set {lan.Prefix}n{k} master br0 up");
            await Ip($"link set {lan.Prefix}e{k} netns {ns}");
            await Ip($"-n {ns} link set {lan.Prefix}e{k} name eth0");
            await Ip($"-n {ns} addr add {lan.Address(k)}/24 dev eth0");
            await Ip($"-n {ns} link set eth0 up multicast on");
        }

        return lan;
    }

    /// <summary>Starts a zero-config node (the shipped executable) in namespace k, data under <paramref name="work"/>, on demand passes only.</summary>
    public Task<Process> StartNodeAsync(string repo, int k, string work, params string[] extra) =>
        StartNodeAsync(BenchNode.Executable(repo), [], k, work, extra);

    /// <summary>
    /// Starts <paramref name="executable"/> (the shipped build or another) as a zero-config node in namespace k, with
    /// <paramref name="environment"/> (NAME=VALUE, e.g. PEERPATCH_PeerServing=false) set through env(1). ip netns exec
    /// and env both exec, so the process's id is the node's own (its /proc/PID/stat is the node's CPU).
    /// </summary>
    public async Task<Process> StartNodeAsync(string executable, string[] environment, int k, string work, params string[] extra)
    {
        var data = Path.Combine(work, $"node-{k}");
        Directory.CreateDirectory(data);
        var config = Path.Combine(data, "bench.config.json");
        await File.WriteAllTextAsync(config, """{"ClusterKeyFile":"none","RedirectPort":0,"AptProxyAdvert":false}""");
        return Proc.Start("ip", ["netns", "exec", Namespace(k), "env", .. environment, executable, "run", "--data", data, "--config", config,
            "--update-interval", "0", "--os-version", "bench-1-amd64", .. extra]);
    }

    /// <summary>Runs a command in namespace k to its end.</summary>
    public Task<(int Code, string Out, string Err)> ExecAsync(int k, params string[] command) =>
        Proc.RunAsync("ip", ["netns", "exec", Namespace(k), .. command]);

    /// <summary>What node k says (GET /v1/status): the server it follows, and its own id; nulls when it does not answer.</summary>
    public async Task<(string? ServerId, string? Server, string? Id)> ViewAsync(int k)
    {
        try
        {
            using var doc = JsonDocument.Parse(await Http.GetStringAsync($"http://{Address(k)}:47471/v1/status"));
            var root = doc.RootElement;
            return (root.GetProperty("serverId").GetString(), root.GetProperty("server").GetString(), root.GetProperty("nodeId").GetString());
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
        {
            return (null, null, null);
        }
    }

    /// <summary>Waits until nodes 1..<paramref name="nodes"/> all name one server that is one of them; its id and every node's id -> k.</summary>
    public async Task<(string ServerId, Dictionary<string, int> Ids)> AgreedServerAsync(int nodes, TimeSpan timeout)
    {
        var ids = new Dictionary<string, int>();
        for (var watch = Stopwatch.StartNew(); watch.Elapsed < timeout; await Task.Delay(200))
        {
            var views = await Task.WhenAll(Enumerable.Range(1, nodes).Select(async k => (k, await ViewAsync(k))));
            foreach (var (k, v) in views)
            {
                if (v.Id is not null)
                {
                    ids[v.Id] = k;
                }
            }

            var servers = views.Select(v => v.Item2.ServerId).Distinct().ToList();
            if (servers.Count == 1 && servers[0] is { } id && ids.ContainsKey(id))
            {
                return (id, ids);
            }
        }

        throw new InvalidOperationException($"no agreed server within {timeout.TotalSeconds} s");
    }

    /// <summary>
    /// Shapes PC k's link to <paramref name="megabitsPerSecond"/> in both directions: a tbf on the PC's eth0 (its
    /// upload) and one on the bridge's end of its veth (its download), each with a queue of
    /// <paramref name="queueMilliseconds"/> at that rate.
    /// </summary>
    public async Task ShapeAsync(int k, double megabitsPerSecond, int queueMilliseconds)
    {
        var rate = ((long)(megabitsPerSecond * 1_000_000)).ToString(System.Globalization.CultureInfo.InvariantCulture) + "bit";
        await Tc(Namespace(k), "eth0", rate, queueMilliseconds);
        await Tc(Hub, $"{Prefix}n{k}", rate, queueMilliseconds);
    }

    /// <summary>
    /// Bytes through each veth as the bridge counts them, by k: Sent = what namespace k sent (its upload, the bridge
    /// end's rx), Received = what it was sent (its download, the bridge end's tx). Frames with their headers.
    /// </summary>
    public async Task<Dictionary<int, (long Sent, long Received)>> LinkBytesAsync()
    {
        var (code, output, error) = await Proc.RunAsync("ip", "-n", Hub, "-s", "-j", "link", "show");
        if (code != 0)
        {
            throw new InvalidOperationException("ip -s link: " + error);
        }

        var bytes = new Dictionary<int, (long, long)>();
        using var doc = JsonDocument.Parse(output);
        foreach (var link in doc.RootElement.EnumerateArray())
        {
            var name = link.GetProperty("ifname").GetString() ?? "";
            var at = name.IndexOf('@', StringComparison.Ordinal);
            name = at >= 0 ? name[..at] : name;
            if (name.StartsWith(Prefix + "n", StringComparison.Ordinal) && int.TryParse(name.AsSpan(Prefix.Length + 1), out var k))
            {
                var stats = link.GetProperty("stats64");
                bytes[k] = (stats.GetProperty("rx").GetProperty("bytes").GetInt64(), stats.GetProperty("tx").GetProperty("bytes").GetInt64());
            }
        }

        return bytes;
    }

    public string Namespace(int k) => $"{Prefix}-n{k}";

    public string Address(int k) => $"{Subnet}.{k}";

    public async ValueTask DisposeAsync()
    {
        await Proc.RunAsync("ip", "link", "del", $"{Prefix}h");
        for (var k = 1; k <= _nodes; k++)
        {
            await Proc.RunAsync("ip", "netns", "del", Namespace(k));
        }

        await Proc.RunAsync("ip", "netns", "del", Hub);
    }

    private static async Task Tc(string netns, string device, string rate, int queueMilliseconds)
    {
        var (code, _, error) = await Proc.RunAsync("ip", "netns", "exec", netns, "tc", "qdisc", "replace", "dev", device, "root", "tbf", "rate", rate, "burst", "128kb", "latency", $"{queueMilliseconds}ms");
        if (code != 0)
        {
            throw new InvalidOperationException($"tc on {netns}/{device}: {error}");
        }
    }

    private static async Task Ip(string args)
    {
        var (code, _, error) = await Proc.RunAsync("ip", args.Split(' '));
        if (code != 0)
        {
            throw new InvalidOperationException($"ip {args}: {error}");
        }
    }
}
