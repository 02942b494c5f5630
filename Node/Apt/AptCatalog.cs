using System.Collections.Concurrent;
using System.IO.Compression;
using System.IO.Pipelines;
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

    /// <summary>
    /// True for what may be a Packages index this catalog can read: Packages, Packages.gz, or a by-hash file under a
    /// binary-ARCH directory (its format is sniffed; xz and others are passed through unread).
    /// </summary>
    public static bool IsReadableIndex(Uri url) =>
        Path.GetFileName(url.AbsolutePath) is "Packages" or "Packages.gz"
        || (url.AbsolutePath.Contains("/by-hash/", StringComparison.Ordinal) && url.AbsolutePath.Contains("/binary-", StringComparison.Ordinal));

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
    public async Task LearnAsync(Uri indexUrl, PipeReader body, CancellationToken ct)
    {
        var root = ArchiveRoot(indexUrl);
        var learned = 0;
        try
        {
            // Sniff without consuming: gzip (1f 8b), plain text (a stanza starts with a field name), or unreadable.
            var peek = await body.ReadAtLeastAsync(2, ct).ConfigureAwait(false);
            var head = System.Buffers.BuffersExtensions.ToArray(peek.Buffer.Slice(0, Math.Min(2, peek.Buffer.Length)));
            body.AdvanceTo(peek.Buffer.Start);
            var gz = head is [0x1f, 0x8b];
            if (!gz && !(head.Length > 0 && char.IsAsciiLetter((char)head[0])))
            {
                await body.CompleteAsync().ConfigureAwait(false);
                return; // xz, lz4, empty: apt gets it unchanged, we learn nothing from it
            }

            var stream = body.AsStream();
            await using var text = gz ? new GZipStream(stream, CompressionMode.Decompress) : stream;
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
