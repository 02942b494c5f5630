using System.Diagnostics;

namespace PeerPatch.Node.Tests.Support;

/// <summary>
/// A LAN of network namespaces on this machine (needs root and iproute2): node k lives in its own namespace
/// with eth0 = 10.Y.X.k/24, cabled by a veth to bridge br0 in a hub namespace; br1 in the same hub is the
/// "other side" for splits. The test itself reaches the LAN through veths in the root namespace (10.Y.X.254 on
/// br0, and a port on br1 used through /32 routes while nodes are split off), which carry only this LAN's traffic.
/// Test classes run in parallel, so several LANs can exist at once: each takes a free slot (0-15) of this process,
/// and its names (prefix "pp" + 4 hex digits of the process id + the slot) and subnet (Y = 231 + slot, X from the
/// process id) are its own; two test runs on one machine differ in X. Everything is removed by name (and every node
/// process by pid) on dispose; leftovers of a crashed run with the same prefix are removed first.
/// </summary>
internal sealed class NetnsLan : IAsyncDisposable
{
    private readonly List<string> _namespaces = [];
    private readonly List<int> _split = [];
    private readonly TempDir _dir = new();

    private static readonly bool[] Slots = new bool[16];
    private readonly int _slot;

    private NetnsLan(int slot)
    {
        _slot = slot;
        var pid = Environment.ProcessId;
        Prefix = $"pp{pid % 0x10000:x4}{slot:x}";
        Subnet = $"10.{231 + slot}.{pid % 250}"; // one /24 per LAN of this process, and per test process
        TestAddress = Subnet + ".254";
    }

    private static int TakeSlot()
    {
        lock (Slots)
        {
            var free = Array.IndexOf(Slots, false);
            if (free < 0)
            {
                throw new InvalidOperationException($"more than {Slots.Length} network-namespace LANs at once");
            }

            Slots[free] = true;
            return free;
        }
    }

    /// <summary>This LAN's /24, as "10.231.X".</summary>
    public string Subnet { get; }

    /// <summary>The test's own address on the LAN (the fake internet listens there).</summary>
    public string TestAddress { get; }

    public string Prefix { get; }

    public string Hub => $"{Prefix}-hub";

    private readonly SortedDictionary<int, NodeProcess> _nodes = [];

    /// <summary>The started nodes, in node-number order (node 1 first), whatever order they became ready in.</summary>
    public IReadOnlyList<NodeProcess> Nodes
    {
        get
        {
            lock (_nodes)
            {
                return _nodes.Values.ToList();
            }
        }
    }

    public string Root => _dir.Path;

    public static bool CanRun => Environment.UserName == "root" && (File.Exists("/usr/sbin/ip") || File.Exists("/sbin/ip") || File.Exists("/usr/bin/ip"));

    public static async Task<NetnsLan> CreateAsync(int nodes)
    {
        var lan = new NetnsLan(TakeSlot());
        try
        {
            await lan.BuildAsync(nodes);
        }
        catch
        {
            await lan.DisposeAsync(); // a half-built LAN is removed, and its slot freed
            throw;
        }

        return lan;
    }

    private async Task BuildAsync(int nodes)
    {
        var lan = this;
        await lan.CleanupAsync(); // a previous crashed run of this process id
        await lan.Ip($"netns add {lan.Hub}");
        lan._namespaces.Add(lan.Hub);
        foreach (var bridge in new[] { "br0", "br1" })
        {
            await lan.Ip($"-n {lan.Hub} link add {bridge} type bridge");
            await lan.Ip($"-n {lan.Hub} link set {bridge} up");
        }

        // The test's own port into the LAN.
        await lan.Ip($"link add {lan.Prefix}h type veth peer name {lan.Prefix}hp");
        await lan.Ip($"link set {lan.Prefix}hp netns {lan.Hub}");
        await lan.Ip($"-n {lan.Hub} link set {lan.Prefix}hp master br0 up");
        await lan.Ip($"addr add {lan.TestAddress}/24 dev {lan.Prefix}h");
        await lan.Ip($"link set {lan.Prefix}h up");

        // A second port on br1, so the test still reaches nodes moved there by a split (through /32 routes).
        await lan.Ip($"link add {lan.Prefix}g type veth peer name {lan.Prefix}gp");
        await lan.Ip($"link set {lan.Prefix}gp netns {lan.Hub}");
        await lan.Ip($"-n {lan.Hub} link set {lan.Prefix}gp master br1 up");
        await lan.Ip($"link set {lan.Prefix}g up");

        for (var k = 1; k <= nodes; k++)
        {
            var ns = lan.Namespace(k);
            await lan.Ip($"netns add {ns}");
            lan._namespaces.Add(ns);
            await lan.Ip($"-n {ns} link set lo up");
            await lan.Ip($"link add {lan.Prefix}n{k} type veth peer name {lan.Prefix}e{k}");
            await lan.Ip($"link set {lan.Prefix}n{k} netns {lan.Hub}");
            await lan.Ip($"-n {lan.Hub} link set {lan.Prefix}n{k} master br0 up");
            await lan.Ip($"link set {lan.Prefix}e{k} netns {ns}");
            await lan.Ip($"-n {ns} link set {lan.Prefix}e{k} name eth0");
            await lan.Ip($"-n {ns} addr add {lan.Address(k)}/24 dev eth0");
            await Run("ip", $"netns exec {ns} sysctl -qw net.ipv6.conf.eth0.accept_dad=0", check: false); // link-local usable at once
            await lan.Ip($"-n {ns} link set eth0 up multicast on");
        }
    }

    public string Namespace(int k) => $"{Prefix}-n{k}";

    /// <summary>
    /// A command line, run inside <paramref name="netns"/> when one is given (`ip netns exec` execs the command in
    /// place, so the process id is the command's own), with standard output and error redirected.
    /// </summary>
    public static ProcessStartInfo Command(string? netns, string file, params IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(netns is null ? file : "ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in (netns is null ? [] : new[] { "netns", "exec", netns, file }).Concat(args))
        {
            psi.ArgumentList.Add(a);
        }

        return psi;
    }

    public string Address(int k) => $"{Subnet}.{k}";

    /// <summary>Starts node k with nothing but its data directory (and <paramref name="extra"/>).</summary>
    public Task<NodeProcess> StartNodeAsync(int k, params string[] extra) => StartNodeWithConfigAsync(k, "{\"MdnsInterfaces\":[]}", extra);

    /// <summary>Starts node k with a --config file holding <paramref name="configJson"/> (and <paramref name="extra"/>).</summary>
    public async Task<NodeProcess> StartNodeWithConfigAsync(int k, string configJson, params string[] extra)
    {
        var node = await NodeProcess.StartInNamespaceWithConfigAsync($"node{k}", Namespace(k), Address(k), _dir.Sub($"node{k}"), configJson, extra);
        lock (_nodes)
        {
            _nodes[k] = node;
        }

        return node;
    }

    /// <summary>Takes node k's network interface down or up (an interface that comes and goes).</summary>
    public Task SetLinkAsync(int k, bool up) => Ip($"-n {Namespace(k)} link set eth0 {(up ? "up" : "down")}");

    /// <summary>Moves nodes to bridge br1: they form a LAN of their own.</summary>
    public async Task SplitAsync(params int[] side)
    {
        foreach (var k in side)
        {
            await Ip($"-n {Hub} link set {Prefix}n{k} master br1");
            await Ip($"route add {Address(k)}/32 dev {Prefix}g src {TestAddress}");
            _split.Add(k);
        }

        await FlushNeighboursAsync();
    }

    /// <summary>Puts every node back on br0.</summary>
    public async Task HealAsync()
    {
        for (var k = 1; k <= Nodes.Count; k++)
        {
            await Ip($"-n {Hub} link set {Prefix}n{k} master br0");
        }

        foreach (var k in _split)
        {
            await Ip($"route del {Address(k)}/32 dev {Prefix}g");
        }

        _split.Clear();
        await FlushNeighboursAsync();
    }

    /// <summary>
    /// The test's two ports share one address, so after re-cabling the nodes' ARP entries for it may name the
    /// other port; forget them (node-to-node traffic needs nothing: the bridges relearn MACs from the next frame).
    /// </summary>
    private async Task FlushNeighboursAsync()
    {
        await Ip($"neigh flush dev {Prefix}h", check: false);
        await Ip($"neigh flush dev {Prefix}g", check: false);
        foreach (var k in _nodes.Keys)
        {
            await Ip($"-n {Namespace(k)} neigh flush dev eth0", check: false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in Nodes)
        {
            await node.DisposeAsync();
        }

        await CleanupAsync();
        _dir.Dispose();
        lock (Slots)
        {
            Slots[_slot] = false;
        }
    }

    private async Task CleanupAsync()
    {
        await Ip($"link del {Prefix}h", check: false);
        await Ip($"link del {Prefix}g", check: false);
        var listed = await Run("ip", "netns list", check: false);
        foreach (var line in listed.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var ns = line.Split(' ')[0];
            if (ns.StartsWith(Prefix + "-", StringComparison.Ordinal))
            {
                await Ip($"netns del {ns}", check: false);
            }
        }
    }

    private Task<string> Ip(string args, bool check = true) => Run("ip", args, check);

    private static async Task<string> Run(string file, string args, bool check)
    {
        var psi = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var process = Process.Start(psi)!;
        var stdout = await process.StandardOutput.ReadToEndAsync();
        var stderr = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (check && process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {args} failed: {stderr}");
        }

        return stdout;
    }
}
