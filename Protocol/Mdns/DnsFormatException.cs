namespace PeerPatch.Protocol.Mdns;

/// <summary>A DNS packet that is malformed or over a limit.</summary>
public sealed class DnsFormatException(string message) : Exception(message);
