using System.Net;
using PeerPatch.Protocol.Messages;

namespace PeerPatch.Node.Transport;

/// <summary>
/// Answers requests that arrive over the LAN. Called on the transport's pump thread, which also sends every answer and
/// ack: must not block.
/// </summary>
internal interface ILanRequestHandler
{
    IMessage Handle(IMessage request, IPEndPoint from);
}
