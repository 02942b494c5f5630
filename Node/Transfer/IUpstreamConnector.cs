namespace PeerPatch.Node.Transfer;

/// <summary>
/// Opens the TCP connection of an internet request: the internet clients' ConnectCallback. Implemented above this
/// layer (the redirect layer resolves redirected domains through DNS, not the hosts file); without one, .NET connects
/// as usual.
/// </summary>
internal interface IUpstreamConnector
{
    ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken ct);
}
