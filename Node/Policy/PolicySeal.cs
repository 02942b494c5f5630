using System.Security.Cryptography;
using System.Text;
using PeerPatch.Protocol.Security;

namespace PeerPatch.Node.Policy;

/// <summary>
/// Seals a policy envelope's text with the cluster key, so a node (and a newly elected server) can tell a policy the
/// LAN's server accepted from one anyone on the LAN made up. The seal is an HTTP-signature over the text's SHA-256 (the
/// same MAC, key and format as the cluster's signed writes), with the envelope's own time; its freshness is not checked.
/// </summary>
internal static class PolicySeal
{
    private const string Method = "POLICY";

    public static string? Seal(ClusterKey? key, string envelopeText, string sealerNodeId, DateTimeOffset setAt) =>
        key is null ? null : HttpSignature.Create(key, Method, Target(envelopeText), sealerNodeId, setAt.ToUnixTimeMilliseconds(), RandomNumberGenerator.GetBytes(16));

    /// <summary>True when there is no key (an open LAN), or the seal is the key's over this very text.</summary>
    public static bool Verify(ClusterKey? key, string envelopeText, string? seal, out string error)
    {
        error = string.Empty;
        if (key is null)
        {
            return true;
        }

        if (seal is null)
        {
            error = "the policy is not sealed, but this LAN has a cluster key";
            return false;
        }

        return HttpSignature.TryVerify(key, Method, Target(envelopeText), seal, out _, out error);
    }

    private static string Target(string text) => "/policy/" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}
