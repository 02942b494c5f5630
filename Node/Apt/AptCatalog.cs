using System.Collections.Concurrent;
using System.IO.Compression;
using System.IO.Pipelines;
using Microsoft.Extensions.Logging;
using PeerPatch.Node.Sources;
using PeerPatch.Protocol.Apt;

namespace PeerPatch.Node.Apt;

/// <summary>
/// What this node has learned from the apt indexes that passed through its proxy: package URL -> (SHA-256, size),
/// keyed by <see cref="ArchiveUrl.Key"/> (the canonical path), so apt's <c>%2b</c> and the index's <c>+</c> are one key.
/// A .deb whose hash is known here is fetched through the LAN like any patch and checked against that hash; one
/// whose hash is unknown is passed through from upstream untouched (apt checks it either way). The catalog lives in
/// memory (at most <see cref="MaxEntries"/> packages; a restart forgets it until apt fetches a changed index again).
/// </summary>
internal sealed partial class AptCatalog(ILogger<AptCatalog> logger)
{
    public const int MaxEntries = 2_000_000;

    /// <summary>Largest compressed index held in memory to be decoded (xz). Default 128 MiB.</summary>
    public const long MaxBufferedIndexBytes = 128L << 20;
    private readonly ConcurrentDictionary<string, (string Sha256, long Size)> _files = new(StringComparer.Ordinal);

    public int Count => _files.Count;

    /// <summary>The SHA-256 and size of the file at <paramref name="url"/>, whatever spelling its request used.</summary>
    public bool TryGet(ArchiveUrl url, out string sha256, out long size)
    {
        if (_files.TryGetValue(url.Key, out var e))
        {
            (sha256, size) = e;
            return true;
        }

        (sha256, size) = (string.Empty, 0);
        return false;
    }

    /// <summary>
    /// True for what may be a Packages index this catalog can read: Packages, Packages.gz, .xz, .bz2 or .zst, or a
    /// by-hash file under a binary-ARCH directory (its format is sniffed; others are passed through unread).
    /// </summary>
    public static bool IsReadableIndex(ArchiveUrl url) =>
        url.FileName is "Packages" or "Packages.gz" or "Packages.xz" or "Packages.bz2" or "Packages.zst"
        || (url.Path.Contains("/by-hash/", StringComparison.Ordinal) && url.Path.Contains("/binary-", StringComparison.Ordinal));

    /// <summary>A suite's Release or InRelease file: it lists every index of the suite with its SHA-256 and size.</summary>
    public static bool IsRelease(ArchiveUrl url) => url.FileName is "InRelease" or "Release";

    /// <summary>An index addressed by its content (…/by-hash/SHA256/HEX), as apt asks for them when the Release says Acquire-By-Hash.</summary>
    public static bool IsByHash(ArchiveUrl url) =>
        url.Path.Contains("/by-hash/SHA256/", StringComparison.Ordinal) && Protocol.WireFormat.IsSha256(url.FileName.ToLowerInvariant());

    /// <summary>
    /// The archive root of an index URL's canonical path: what the stanzas' Filename fields are relative to. For the
    /// usual layout (…/dists/SUITE/COMPONENT/binary-ARCH/Packages) it is the part before /dists/; for a flat
    /// repository, the index's own directory. Without a trailing slash ("" for the origin's root).
    /// </summary>
    public static string ArchiveRoot(string canonicalIndexPath)
    {
        var dists = canonicalIndexPath.IndexOf("/dists/", StringComparison.Ordinal);
        return dists >= 0 ? canonicalIndexPath[..dists] : canonicalIndexPath[..canonicalIndexPath.LastIndexOf('/')];
    }

    /// <summary>The key of the file a Filename field of the index at <paramref name="indexUrl"/> names, or null if it is not a valid path.</summary>
    public static string? KeyOf(ArchiveUrl indexUrl, string filename) =>
        Protocol.Apt.ArchivePath.TryCanonicalizeLiteral(filename, out var path)
            ? (indexUrl with { Path = ArchiveRoot(indexUrl.Path) + path, Query = string.Empty }).Key
            : null;

    /// <summary>Reads an index body (as it streams to apt) and remembers every package in it (or, for a Release file, every by-hash index).</summary>
    public async Task LearnAsync(ArchiveUrl indexUrl, PipeReader body, CancellationToken ct)
    {
        var learned = 0;
        try
        {
            if (IsRelease(indexUrl))
            {
                learned = await LearnReleaseAsync(indexUrl, body, ct).ConfigureAwait(false);
                Log.Learned(logger, learned, indexUrl);
                return;
            }

            // Sniff without consuming: gzip, xz, bzip2, zstd, plain text (a stanza starts with a field name), or unreadable.
            var peek = await body.ReadAtLeastAsync(4, ct).ConfigureAwait(false);
            var head = System.Buffers.BuffersExtensions.ToArray(peek.Buffer.Slice(0, Math.Min(4, peek.Buffer.Length)));
            body.AdvanceTo(peek.Buffer.Start);
            var stream = body.AsStream();
            Stream? text = head switch
            {
                [0x1f, 0x8b, ..] => new GZipStream(stream, CompressionMode.Decompress),
                [0xfd, 0x37, 0x7a, 0x58] => new SharpCompress.Compressors.Xz.XZStream(await BufferAsync(stream, ct).ConfigureAwait(false)),
                [0x42, 0x5a, 0x68, ..] => SharpCompress.Compressors.BZip2.BZip2Stream.Create(stream, SharpCompress.Compressors.CompressionMode.Decompress, decompressConcatenated: true, leaveOpen: false),
                [0x28, 0xb5, 0x2f, 0xfd] => new SharpCompress.Compressors.ZStandard.DecompressionStream(stream, leaveOpen: false),
                [var first, ..] when char.IsAsciiLetter((char)first) => stream,
                _ => null,
            };
            if (text is null)
            {
                await body.CompleteAsync().ConfigureAwait(false);
                return; // lz4, empty, unknown: apt gets it unchanged, we learn nothing from it
            }

            await using var owned = text;
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

                        if (KeyOf(indexUrl, file.Filename) is { } key)
                        {
                            _files[key] = (file.Sha256, file.Size);
                            learned++;
                        }
                    }
                },
                ct).ConfigureAwait(false);
            Log.Learned(logger, learned, indexUrl);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or InvalidOperationException or NotSupportedException or OperationCanceledException
                                   or SharpCompress.Common.SharpCompressException)
        {
            Log.Unreadable(logger, indexUrl, learned, e.Message);
        }
    }

    /// <summary>
    /// A Release file's SHA256 section (" HEX SIZE PATH" lines, PATH relative to the suite's directory) names each
    /// index's by-hash URL: …/dists/SUITE/DIR/by-hash/SHA256/HEX. Those are content-addressed, so they can be shared
    /// over the LAN like packages (one internet download per index change for the whole LAN) and can never be stale;
    /// the Release itself always goes to the upstream, since it is what says what is current. Plain index paths are
    /// not learned: their content changes under one name. Lines past <see cref="AptPackagesParser"/>'s cap are skipped.
    /// </summary>
    private Task<int> LearnReleaseAsync(ArchiveUrl releaseUrl, PipeReader body, CancellationToken ct)
    {
        var suiteDir = releaseUrl.Path[..releaseUrl.Path.LastIndexOf('/')];
        return Task.Run(
            () =>
            {
                var learned = 0;
                var inSha256 = false;
                using var reader = new CappedLineReader(new StreamReader(body.AsStream()), AptPackagesParser.MaxLine);
                while (reader.ReadLine() is { } line)
                {
                    ct.ThrowIfCancellationRequested();
                    if (line.Length >= AptPackagesParser.MaxLine)
                    {
                        inSha256 = false; // a line that long was cut: not a hash line
                        continue;
                    }

                    if (line.Length == 0 || (line[0] is not ' ' and not '\t'))
                    {
                        inSha256 = line.Equals("SHA256:", StringComparison.Ordinal);
                        continue;
                    }

                    var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    if (!inSha256 || parts.Length != 3 || !Protocol.WireFormat.IsSha256(parts[0])
                        || !long.TryParse(parts[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var size)
                        || !Protocol.Apt.ArchivePath.TryCanonicalizeLiteral(parts[2], out var path) || _files.Count >= MaxEntries)
                    {
                        continue;
                    }

                    var dir = path[..path.LastIndexOf('/')];
                    _files[(releaseUrl with { Path = $"{suiteDir}{dir}/by-hash/SHA256/{parts[0]}", Query = string.Empty }).Key] = (parts[0], size);
                    learned++;
                }

                return learned;
            },
            ct);
    }

    /// <summary>
    /// The whole compressed body in memory (at most <see cref="MaxBufferedIndexBytes"/>): the xz decoder needs a
    /// seekable stream. Debian's largest Packages.xz is about 10 MB.
    /// </summary>
    private static async Task<Stream> BufferAsync(Stream stream, CancellationToken ct)
    {
        var buffer = new MemoryStream();
        var chunk = new byte[64 * 1024];
        int n;
        while ((n = await stream.ReadAsync(chunk, ct).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + n > MaxBufferedIndexBytes)
            {
                throw new InvalidDataException($"compressed index over {MaxBufferedIndexBytes} bytes");
            }

            buffer.Write(chunk, 0, n);
        }

        buffer.Position = 0;
        return buffer;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 800, Level = LogLevel.Information, Message = "apt index {Url}: {Count} packages learned")]
        public static partial void Learned(ILogger logger, int count, ArchiveUrl url);

        [LoggerMessage(EventId = 801, Level = LogLevel.Warning, Message = "apt index {Url} could not be read after {Count} packages: {Error}")]
        public static partial void Unreadable(ILogger logger, ArchiveUrl url, int count, string error);
    }
}
