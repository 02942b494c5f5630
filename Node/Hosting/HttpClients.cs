namespace PeerPatch.Node.Hosting;

/// <summary>Keys of the two HttpClients: the internet one (system proxy, long timeouts) and the LAN one (no proxy, short connect).</summary>
internal static class HttpClients
{
    public const string Internet = "internet";
    public const string Lan = "lan";
}
