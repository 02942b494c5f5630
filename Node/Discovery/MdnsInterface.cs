using System.Net;

namespace PeerPatch.Node.Discovery;

/// <summary>
/// An interface mDNS runs on: its name, index, IPv4 address, and its IPv6 addresses (empty where IPv6 is not up).
/// The first IPv6 address is the link-local one the IPv6 socket is bound to.
/// </summary>
internal sealed record MdnsInterface(string Name, int Index, IPAddress Address, IReadOnlyList<IPAddress> V6Addresses)
{
    public MdnsInterface(string name, int index, IPAddress address)
        : this(name, index, address, [])
    {
    }

    public bool Equals(MdnsInterface? other) =>
        other is not null && Name == other.Name && Index == other.Index && Address.Equals(other.Address) && V6Addresses.SequenceEqual(other.V6Addresses);

    public override int GetHashCode() => HashCode.Combine(Name, Index, Address);
}
