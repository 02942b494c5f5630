namespace PeerPatch.Protocol.Messages;

/// <summary>Why a request was refused.</summary>
public enum ErrorCode : byte
{
    /// <summary>The request did not decode or failed validation.</summary>
    BadRequest = 0,

    /// <summary>The peer speaks another protocol version.</summary>
    VersionMismatch = 1,

    /// <summary>This node is not the server.</summary>
    NotServer = 2,

    /// <summary>The server failed while handling the request.</summary>
    Internal = 3,
}
