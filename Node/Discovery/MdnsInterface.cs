using System.Net;

namespace PeerPatch.Node.Discovery;

/// <summary>An interface mDNS runs on: its name, index and IPv4 address.</summary>
internal sealed record MdnsInterface(string Name, int Index, IPAddress Address);
