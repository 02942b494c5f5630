using System.Collections.Concurrent;

namespace PeerPatch.Node.Tests.Support;

/// <summary>
/// Test classes run in parallel, and their nodes on loopback all multicast mDNS on one interface: with the standard
/// port every LAN would hear (and elect with, and follow) the others. So each loopback LAN gets an mDNS port of its own
/// (<c>MdnsPort</c>), and a LAN is the nodes whose data directories share a parent directory (one test's TempDir).
/// mDNS on the standard port 5353 is proven where that matters: against python3-zeroconf (MdnsInteropTests) and
/// between nodes in network namespaces (ZeroConfTests, ForgedAdvertTests, RogueNodeTests, the admin tests).
/// </summary>
internal static class LoopbackMdns
{
    private static readonly ConcurrentDictionary<string, int> Ports = new(StringComparer.Ordinal);

    public static int PortFor(string dataDir) =>
        Ports.GetOrAdd(Path.GetDirectoryName(Path.GetFullPath(dataDir.TrimEnd('/'))) ?? "/", _ => FreePorts.Udp());
}
