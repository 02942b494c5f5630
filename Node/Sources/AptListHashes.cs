using PeerPatch.Protocol.Apt;

namespace PeerPatch.Node.Sources;

/// <summary>A package file as a Packages list gives it. <see cref="Conflict"/>: two lists name it with different hashes.</summary>
internal sealed record AptListedFile(string Sha256, long Size, bool Conflict);

/// <summary>What the lists said about the wanted files (by <see cref="AptListHashes.Key(Uri)"/>), and the lists that could not be read.</summary>
internal sealed record AptListLookup(IReadOnlyDictionary<string, AptListedFile> Files, IReadOnlyList<string> Errors, int ListsRead);

/// <summary>
/// Finds the SHA-256 of each wanted .deb in the Packages lists apt downloaded and verified against its signed Release
/// files, reading them through apt itself, so whatever format apt keeps them in (plain, gz, xz, lz4, zst, bz2):
/// `apt-get indextargets` names every Packages list with the archive its Filename fields are relative to and whether
/// apt trusts it; `apt-helper cat-file` decompresses one to its standard output, which is parsed as it streams. Only
/// lists apt marks trusted are read; a file matches by its full URL (archive + Filename), and its size is checked by
/// the caller.
/// </summary>
internal sealed class AptListHashes(AptCommands apt, SourcesOptions options)
{
    private const string Separator = "\t";

    public async Task<AptListLookup> FindAsync(IEnumerable<Uri> wanted, CancellationToken ct)
    {
        var want = new HashSet<string>(wanted.Select(Key).OfType<string>(), StringComparer.Ordinal);
        var found = new Dictionary<string, AptListedFile>(StringComparer.Ordinal);
        var errors = new List<string>();
        var targets = await apt.RunAsync(
            "apt-get", ["indextargets", "--format", $"$(FILENAME){Separator}$(REPO_URI){Separator}$(TRUSTED)", "Created-By: Packages"], ct).ConfigureAwait(false);
        if (!targets.Ok)
        {
            return new AptListLookup(found, [$"apt-get indextargets failed: {targets.Describe()}"], 0);
        }

        var read = 0;
        foreach (var line in targets.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (found.Count == want.Count)
            {
                break; // every wanted file is found: the other lists cannot add to it
            }

            var fields = line.Split(Separator);
            if (fields.Length != 3 || !Uri.TryCreate(fields[1], UriKind.Absolute, out var repo))
            {
                errors.Add($"apt-get indextargets printed an unexpected line: {AptCommands.Tail(line)}");
                continue;
            }

            if (!string.Equals(fields[2], "yes", StringComparison.OrdinalIgnoreCase))
            {
                errors.Add($"{fields[0]}: apt does not trust this list; its hashes are not used");
                continue;
            }

            var list = await ReadListAsync(fields[0], repo, want, found, ct).ConfigureAwait(false);
            if (list.Ok)
            {
                read++;
            }
            else
            {
                errors.Add($"{fields[0]}: {list.Describe()}");
            }
        }

        return new AptListLookup(found, errors, read);
    }

    /// <summary>
    /// The key of a package's URL: scheme, host and port, then the canonical archive path
    /// (<see cref="ArchivePath"/>), so apt's <c>%2b</c> and a Packages list's <c>+</c> meet. Null for a URL whose path
    /// is refused (traversal, control bytes) or that is not absolute.
    /// </summary>
    public static string? Key(Uri url) =>
        url.IsAbsoluteUri && ArchivePath.TryCanonicalize(url.AbsolutePath, out var path) ? Authority(url) + path : null;

    /// <summary>The key of a Filename field (written unescaped) of a list from the archive at <paramref name="repo"/>; null when refused.</summary>
    public static string? Key(Uri repo, string filename)
    {
        var root = repo.AbsolutePath.TrimEnd('/');
        var rootPath = string.Empty;
        return (root.Length == 0 || ArchivePath.TryCanonicalize(root, out rootPath)) && ArchivePath.TryCanonicalizeLiteral(filename, out var file)
            ? Authority(repo) + rootPath + file
            : null;
    }

    private static string Authority(Uri url) => url.GetLeftPart(UriPartial.Authority).ToLowerInvariant();

    private Task<AptCommandResult> ReadListAsync(string file, Uri repo, HashSet<string> want, Dictionary<string, AptListedFile> found, CancellationToken ct) =>
        apt.StreamAsync(
            AptCommands.AptHelper,
            ["cat-file", file],
            options.AptCommandTimeout,
            options.AptListMaxBytes,
            (stdout, token) => Task.Run(
                () =>
                {
                    using var reader = new StreamReader(stdout);
                    foreach (var p in AptPackagesParser.Parse(reader))
                    {
                        token.ThrowIfCancellationRequested();
                        if (Key(repo, p.Filename) is not { } key || !want.Contains(key))
                        {
                            continue;
                        }

                        found[key] = found.TryGetValue(key, out var seen) && (seen.Conflict || seen.Sha256 != p.Sha256 || seen.Size != p.Size)
                            ? seen with { Conflict = true }
                            : new AptListedFile(p.Sha256, p.Size, false);
                    }
                },
                token),
            ct);
}
