using System.Net;
using System.Net.Sockets;

namespace PeerPatch.Node.Tests.Support;

/// <summary>Free loopback ports for real node processes (TCP for HTTP, UDP for LiteNetLib).</summary>
internal static class FreePorts
{
    private static int _next = 20000 + (Environment.ProcessId % 200) * 100;

    public static (int Udp, int Http) Pair()
    {
        while (true)
        {
            var udp = Interlocked.Add(ref _next, 2);
            if (udp > 60000)
            {
                Interlocked.Exchange(ref _next, 20000);
                continue;
            }

            if (IsFree(udp, SocketType.Dgram, ProtocolType.Udp) && IsFree(udp + 1, SocketType.Stream, ProtocolType.Tcp))
            {
                return (udp, udp + 1);
            }
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
