using System.Net;
using System.Net.Sockets;

namespace PeerPatch.Node.Tests.Support;

/// <summary>
/// Free loopback ports for nodes (TCP for HTTP, UDP for LiteNetLib and mDNS), handed out so that they cannot race:
/// one process-wide counter (test classes run in parallel: no two callers get the same port), only below the
/// kernel's ephemeral range (the outgoing connections of parallel tests take ephemeral ports at any moment, so a port
/// from that range found free could be taken before the node binds it), and starting at an offset per test process
/// (two test runs on one machine start far apart). A port still in use by anything else is skipped.
/// </summary>
internal static class FreePorts
{
    private const int Lowest = 10000;
    private static readonly int End = EphemeralLow();
    private static int _next = Lowest + (Environment.ProcessId % 100) * 200;

    /// <summary>Two adjacent ports: UDP <c>Udp</c> and TCP <c>Udp + 1</c>.</summary>
    public static (int Udp, int Http) Pair()
    {
        while (true)
        {
            var udp = Take(2);
            if (IsFree(udp, SocketType.Dgram, ProtocolType.Udp) && IsFree(udp + 1, SocketType.Stream, ProtocolType.Tcp))
            {
                return (udp, udp + 1);
            }
        }
    }

    /// <summary>One free UDP port.</summary>
    public static int Udp()
    {
        while (true)
        {
            var port = Take(1);
            if (IsFree(port, SocketType.Dgram, ProtocolType.Udp))
            {
                return port;
            }
        }
    }

    private static int Take(int count)
    {
        while (true)
        {
            var port = Interlocked.Add(ref _next, count) - count;
            if (port + count <= End)
            {
                return port;
            }

            Interlocked.CompareExchange(ref _next, Lowest, port + count); // past the end: wrap (the last caller's swap wins)
        }
    }

    private static int EphemeralLow()
    {
        try
        {
            var range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
            var low = int.Parse(range[0], System.Globalization.CultureInfo.InvariantCulture);
            return low > Lowest + 2000 ? low : 32768;
        }
        catch (IOException)
        {
            return 32768;
        }
    }

    private static bool IsFree(int port, SocketType type, ProtocolType protocol)
    {
        try
        {
            using var socket = new Socket(AddressFamily.InterNetwork, type, protocol);
            socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
