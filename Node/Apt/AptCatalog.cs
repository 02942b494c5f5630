using System.Collections.Concurrent;
using System.IO.Compression;
using Microsoft.Extensions.Logging;

namespace PeerPatch.Node.Apt;

/// <summary>
/// What this node has learned from the apt indexes that passed through its proxy: package URL -> (SHA-256, size).
/// A .deb whose hash is known here is fetched through the LAN like any patch and checked against that hash; one
/// whose hash is unknown is passed through from upstream untouched (apt checks it either way). The catalog lives in
/// memory (at most <see cref="MaxEntries"/> packages; a restart forgets it until apt fetches a changed index again).
/// </summary>
internal sealed partial class AptCatalog(ILogger<AptCatalog> logger)
{
    public const int MaxEntries = 2_000_000;
    private readonly ConcurrentDictionary<string, (string Sha256, long Size)> _files = new(StringComparer.Ordinal);

    public int Count => _files.Count;

    public bool TryGet(Uri url, out string sha256, out long size)
    {
        if (_files.TryGetValue(Key(url), out var e))
        {
            (sha256, size) = e;
            return true;
        }

        (sha256, size) = (string.Empty, 0);
        return false;
    }

    /// <summary>True for the Packages indexes this catalog can read (plain and gzip; xz is passed through unread).</summary>
    public static bool IsReadableIndex(Uri url) =>
        Path.GetFileName(url.AbsolutePath) is "Packages" or "Packages.gz";

    /// <summary>
    /// The archive root of an index URL: what the stanzas' Filename fields are relative to. For the usual layout
    /// (…/dists/SUITE/COMPONENT/binary-ARCH/Packages) it is the part before /dists/; for a flat repository, the
    /// index's own directory.
    /// </summary>
    public static string ArchiveRoot(Uri indexUrl)
    {
        var left = indexUrl.GetLeftPart(UriPartial.Path);
        var dists = left.IndexOf("/dists/", StringComparison.Ordinal);
        return dists >= 0 ? left[..(dists + 1)] : left[..(left.LastIndexOf('/') + 1)];
    }

    /// <summary>Reads an index body (as it streams to apt) and remembers every package in it.</summary>
    public async Task LearnAsync(Uri indexUrl, Stream body, CancellationToken ct)
    {
        var root = ArchiveRoot(indexUrl);
        var gz = indexUrl.AbsolutePath.EndsWith(".gz", StringComparison.Ordinal);
        var learned = 0;
        try
        {
            await using var text = gz ? new GZipStream(body, CompressionMode.Decompress) : body;
            using var reader = new StreamReader(text);
            await Task.Run(
                () =>
                {
                    foreach (var file in AptPackagesParser.Parse(reader))
                    {
                        ct.ThrowIfCancellationRequested();
                        if (_files.Count >= MaxEntries)
                        {
                            break;
                        }

                        _files[Key(new Uri(root + file.Filename))] = (file.Sha256, file.Size);
                        learned++;
                    }
                },
                ct).ConfigureAwait(false);
            Log.Learned(logger, learned, indexUrl);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UriFormatException or OperationCanceledException)
        {
            Log.Unreadable(logger, indexUrl, learned, e.Message);
        }
    }

    private static string Key(Uri url) => url.GetLeftPart(UriPartial.Path);

    private static partial class Log
    {
        [LoggerMessage(EventId = 800, Level = LogLevel.Information, Message = "apt index {Url}: {Count} packages learned")]
        public static partial void Learned(ILogger logger, int count, Uri url);

        [LoggerMessage(EventId = 801, Level = LogLevel.Warning, Message = "apt index {Url} could not be read after {Count} packages: {Error}")]
        public static partial void Unreadable(ILogger logger, Uri url, int count, string error);
    }
}
