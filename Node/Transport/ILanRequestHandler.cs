using System.Net;
using PeerPatch.Protocol.Messages;

namespace PeerPatch.Node.Transport;

/// <summary>Answers requests that arrive over the LAN. Called on the receive thread: must not block.</summary>
internal interface ILanRequestHandler
{
    IMessage Handle(IMessage request, IPEndPoint from);
}
