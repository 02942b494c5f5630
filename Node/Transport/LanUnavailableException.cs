namespace PeerPatch.Node.Transport;

/// <summary>The LAN peer could not be reached, did not answer in time, or refused the request.</summary>
internal sealed class LanUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
