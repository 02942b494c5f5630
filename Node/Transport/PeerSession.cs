using PeerPatch.Protocol.Security;

namespace PeerPatch.Node.Transport;

/// <summary>
/// One keyed connection's state. The client's nonce travels in the connection request, the server's in a
/// challenge frame right after accepting; both directions' keys derive from the pair. The server believes the
/// peer from its first frame that opens under the client-to-server key; the client from the challenge on.
/// </summary>
internal sealed class PeerSession(bool outgoing, byte[] clientNonce, DateTimeOffset created)
{
    public const int NonceLength = 16;

    /// <summary>First byte of the server's challenge frame: [0xC7][server nonce, 16 bytes].</summary>
    public const byte ChallengeMarker = 0xC7;

    private long _sequence;

    /// <summary>True on the side that connected (the client).</summary>
    public bool Outgoing { get; } = outgoing;

    public byte[] ClientNonce { get; } = clientNonce;

    public DateTimeOffset Created { get; } = created;

    public FrameSealer? Sender { get; private set; }

    public FrameSealer? Receiver { get; private set; }

    public ReplayWindow Window { get; } = new();

    /// <summary>Server side: a valid frame arrived. Client side: the challenge arrived (see <see cref="Ready"/>).</summary>
    public bool Authenticated { get; set; }

    /// <summary>Completes when the keys are known (client: the challenge arrived; server: it was sent).</summary>
    public TaskCompletionSource Ready { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ulong NextSequence() => (ulong)Interlocked.Increment(ref _sequence);

    public void SetKeys(ClusterKey key, ReadOnlySpan<byte> serverNonce)
    {
        var (toServer, toClient) = key.Session(ClientNonce, serverNonce);
        (Sender, Receiver) = Outgoing ? (toServer, toClient) : (toClient, toServer);
    }
}
