using System.Text.RegularExpressions;

namespace PeerPatch.Node.Apt;

/// <summary>
/// What apt fetches from a repository, by canonical path: index files (InRelease, Release, Release.gpg, Packages*,
/// Sources*, Translation-*, Contents-*, Components-*.yml, icons-*.tar, Commands-*, pdiff Index and patches, by-hash
/// copies under dists/) and package files (.deb, .udeb, .ddeb, .dsc, .tar.*, .diff.gz, .asc signatures of tarballs).
/// Anything else is not an apt request, and the proxy does not relay it.
/// </summary>
internal static partial class ArchiveFiles
{
    public static bool IsAptFile(string canonicalPath)
    {
        var segments = canonicalPath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (segments.Length == 0)
        {
            return false;
        }

        var name = Uri.UnescapeDataString(segments[^1]);
        if (IndexName().IsMatch(name) || PackageName().IsMatch(name))
        {
            return true;
        }

        var dists = Array.IndexOf(segments, "dists");
        if (dists < 0)
        {
            return false;
        }

        // dists/.../by-hash/SHA256/<hex>, and pdiff patches: dists/.../Packages.diff/T-...-F-....gz
        return (segments.Length - dists >= 4 && segments[^3] == "by-hash" && segments[^2] is "MD5Sum" or "SHA1" or "SHA256" or "SHA512" && HexName().IsMatch(name))
            || (segments.Length - dists >= 3 && segments[^2].EndsWith(".diff", StringComparison.Ordinal) && PdiffName().IsMatch(name));
    }

    [GeneratedRegex(@"^(InRelease|Release|Release\.gpg|(Packages|Sources|Translation-[A-Za-z0-9_@.-]+|Contents-[A-Za-z0-9_.-]+|Components-[A-Za-z0-9_.-]+\.yml|icons-[0-9x@]+\.tar|CID-Index-[A-Za-z0-9_.-]+\.json|Commands-[A-Za-z0-9_.-]+|Index)(\.(gz|xz|bz2|lzma|lz4|zst))?)$", RegexOptions.CultureInvariant)]
    private static partial Regex IndexName();

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9.+~:_%-]*(\.deb|\.udeb|\.ddeb|\.dsc|\.diff\.gz|\.tar(\.(gz|xz|bz2|lzma|zst))?(\.asc)?)$", RegexOptions.CultureInvariant)]
    private static partial Regex PackageName();

    [GeneratedRegex(@"^[0-9a-f]{32,128}$", RegexOptions.CultureInvariant)]
    private static partial Regex HexName();

    [GeneratedRegex(@"^[A-Za-z0-9.:+_-]+(\.(gz|xz|bz2|zst))?$", RegexOptions.CultureInvariant)]
    private static partial Regex PdiffName();
}
