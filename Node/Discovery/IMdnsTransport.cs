using System.Net;
using PeerPatch.Protocol.Mdns;

namespace PeerPatch.Node.Discovery;

/// <summary>What a responder needs of the mDNS sockets (<see cref="MdnsTransport"/>); tests drive it without sockets.</summary>
internal interface IMdnsTransport
{
    /// <summary>A decoded packet, its sender and the index of the interface it arrived on.</summary>
    event Action<DnsMessage, IPEndPoint, int>? Received;

    /// <summary>Sends a message built for each interface (its own address in A records) to the group, on every interface or one.</summary>
    Task SendMulticastAsync(Func<MdnsInterface, DnsMessage> build, int? interfaceIndex = null);

    /// <summary>Sends to one address, from the mDNS port on the interface the question came in on.</summary>
    Task SendUnicastAsync(DnsMessage message, IPEndPoint to, int interfaceIndex);

    /// <summary>The interface with that index, if mDNS runs on it.</summary>
    MdnsInterface? Interface(int index);
}
