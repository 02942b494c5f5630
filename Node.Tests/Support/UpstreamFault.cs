namespace PeerPatch.Node.Tests.Support;

/// <summary>Ways the fake internet can fail a file.</summary>
internal enum UpstreamFault
{
    None,

    /// <summary>404.</summary>
    NotFound,

    /// <summary>Headers, then the connection is reset before any body byte.</summary>
    Reset,

    /// <summary>Half the declared body, then the connection is cut.</summary>
    ShortBody,

    /// <summary>Half the body, then nothing more (the connection stays open).</summary>
    Stall,

    /// <summary>A complete, well-formed response 100 bytes shorter than the list says.</summary>
    WrongLength,

    /// <summary>The right length with one byte changed.</summary>
    WrongBytes,
}
