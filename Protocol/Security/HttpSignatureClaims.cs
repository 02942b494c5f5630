namespace PeerPatch.Protocol.Security;

/// <summary>What a verified <see cref="HttpSignature"/> says: who signed, when (by the signer's clock) and its nonce.</summary>
public readonly record struct HttpSignatureClaims(string NodeId, long UnixMs, string Nonce);
