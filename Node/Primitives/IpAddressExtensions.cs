using System.Net;

namespace PeerPatch.Node.Primitives;

/// <summary>Addresses as the node compares them.</summary>
internal static class IpAddressExtensions
{
    /// <summary>An IPv4-mapped IPv6 address (a dual-stack socket's view of an IPv4 peer) as the IPv4 address; others unchanged.</summary>
    public static IPAddress Unmapped(this IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
}
