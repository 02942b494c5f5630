using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;
using PeerPatch.Node.Transfer;
using PeerPatch.Protocol.Http;
using PeerPatch.Protocol.Status;

namespace PeerPatch.Node.Tests.Transfer;

/// <summary>How one fake LAN source answers.</summary>
internal enum SourceMode
{
    /// <summary>Right bytes for every range, the right piece list.</summary>
    Good,

    /// <summary>Wrong bytes in one piece (<see cref="FakeSources.BadPiece"/>), right elsewhere.</summary>
    BadPiece,

    /// <summary>404 for everything (an evicted blob).</summary>
    NotFound,

    /// <summary>503 with Retry-After: 1 for the first <see cref="FakeSources.BusyAnswers"/> piece requests, then good.</summary>
    Busy,

    /// <summary>Headers and half a piece, then the connection is cut (a holder killed mid-transfer).</summary>
    DieMidBody,

    /// <summary>Headers and half a piece, then nothing (until the client gives up).</summary>
    Stall,

    /// <summary>A piece list that does not fit the blob (one hash too few); right bytes otherwise.</summary>
    BadList,

    /// <summary>Headers, then one byte of the piece every <see cref="FakeSources.DripEvery"/> (a trickle that never stalls).</summary>
    Drip,

    /// <summary>Right bytes, written and flushed in pieces of 1 to 3,000 bytes at random: the client reads them in uneven bits.</summary>
    Ragged,

    /// <summary>
    /// The first <see cref="FakeSources.GateFrom"/> piece requests answered at once (whichever pieces a fetch asks for
    /// first: it takes them in a random order); later ones only once <see cref="FakeSources.OpenGate"/> was called.
    /// </summary>
    Gated,

    /// <summary>
    /// A holder still receiving: the pieces in <see cref="FakeSources.Holds"/> are answered 206, the others 503 with
    /// Retry-After: 1; both with its bitfield (<see cref="ApiHeaders.PiecesHeld"/>).
    /// </summary>
    Partial,

    /// <summary>A liar: 503 with Retry-After: 1 for every piece, with a bitfield that claims every piece.</summary>
    Claims,

    /// <summary>
    /// A holder the server has just handed the blob, whose own fetch has not begun: 404 for the piece list and for pieces
    /// until it has been asked for the list <see cref="FakeSources.LateAnswers"/> times; from then as <see cref="Good"/>.
    /// </summary>
    LateList,

    /// <summary>
    /// A forger: a valid piece list for the blob's hash and size, made from other bytes (the first byte flipped), and
    /// those bytes: every piece matches its list, the whole does not match the hash. Its pieces wait for the gate as
    /// <see cref="Gated"/>'s do.
    /// </summary>
    Forger,
}

/// <summary>
/// Several fake LAN holders of one blob in one Kestrel app on loopback: each listens on its own port and answers
/// GET /v1/blobs/{sha256} (Range) and its /pieces as its <see cref="SourceMode"/> says. Requests are counted per source.
/// </summary>
internal sealed class FakeSources : IAsyncDisposable
{
    private const int Chunk = 64 * 1024;
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<int, int> _requests = new();
    private readonly ConcurrentDictionary<int, int> _listRequests = new();
    private long _bodyBytesSent;
    private readonly ConcurrentDictionary<int, ConcurrentQueue<(DateTime At, int Status)>> _answers = new();
    private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int[] _ports = [];
    private IReadOnlySet<int> _holds = new HashSet<int>();

    private FakeSources(WebApplication app) => _app = app;

    public byte[] Content { get; private set; } = [];

    public string Sha256 { get; private set; } = string.Empty;

    public int PieceSize { get; private set; }

    public SourceMode[] Modes { get; private set; } = [];

    /// <summary>The piece a <see cref="SourceMode.BadPiece"/> source corrupts (modulo the piece count; negative: every piece).</summary>
    public int BadPiece { get; set; } = 1;

    /// <summary>Blob bytes the sources wrote (or are writing) into response bodies since <see cref="Set"/>: a client can count no more.</summary>
    public long BodyBytesSent => Interlocked.Read(ref _bodyBytesSent);

    public int BusyAnswers { get; set; } = 2;

    /// <summary>Piece list requests a <see cref="SourceMode.LateList"/> source answers 404 before it has the blob.</summary>
    public int LateAnswers { get; set; } = 1;

    /// <summary>How long a <see cref="SourceMode.LateList"/> source holds its answer to its second piece list request.</summary>
    public TimeSpan SecondListDelay { get; set; }

    public int GateFrom { get; set; } = 2;

    /// <summary>The pieces a <see cref="SourceMode.Partial"/> source holds.</summary>
    public IReadOnlySet<int> Holds { get => Volatile.Read(ref _holds); set => Volatile.Write(ref _holds, value); }

    public TimeSpan DripEvery { get; set; } = TimeSpan.FromMilliseconds(100);

    public static async Task<FakeSources> StartAsync(int count)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            for (var i = 0; i < count; i++)
            {
                k.Listen(IPAddress.Loopback, 0);
            }
        });
        var app = builder.Build();
        var sources = new FakeSources(app);
        app.MapGet(BlobUrl.PiecesRoute, sources.PiecesAsync);
        app.MapGet(BlobUrl.Route, sources.BlobAsync);
        await app.StartAsync();
        sources._ports = [.. app.Urls.Select(u => new Uri(u).Port)];
        return sources;
    }

    /// <summary>Sets the blob every source serves and how each answers (source i: <paramref name="modes"/>[i]).</summary>
    public void Set(byte[] content, int pieceSize, params SourceMode[] modes)
    {
        if (modes.Length > _ports.Length)
        {
            throw new ArgumentException($"only {_ports.Length} sources");
        }

        Interlocked.Exchange(ref _bodyBytesSent, 0);

        (Content, PieceSize, Modes) = (content, pieceSize, modes);
        Sha256 = Convert.ToHexStringLower(SHA256.HashData(content));
        _requests.Clear();
        _listRequests.Clear();
        _answers.Clear();
    }

    /// <summary>The sources as a lookup would list them (node-0 first; the last one is the server).</summary>
    public IReadOnlyList<SwarmSource> List() =>
        [.. Modes.Select((_, i) => new SwarmSource($"node-{i}", new Uri($"http://127.0.0.1:{_ports[i]}{BlobUrl.PathOf(Sha256)}"), i == Modes.Length - 1))];

    /// <summary>Piece list requests, as "source:mode".</summary>
    public ConcurrentQueue<string> ListRequests { get; } = new();

    public int Requests(int source) => _requests.GetValueOrDefault(_ports[source]);

    public IReadOnlyList<(DateTime At, int Status)> Answers(int source) => [.. _answers.GetValueOrDefault(_ports[source]) ?? new()];

    public void OpenGate() => _gate.TrySetResult();

    public PieceList PieceListOf(byte[] content, int pieceSize) => new(
        Convert.ToHexStringLower(SHA256.HashData(content)),
        content.Length,
        pieceSize,
        [.. Enumerable.Range(0, PieceList.CountFor(content.Length, pieceSize))
            .Select(i => Convert.ToHexStringLower(SHA256.HashData(content.AsSpan(i * pieceSize, Math.Min(pieceSize, content.Length - (i * pieceSize))))))]);

    private byte[] Forged()
    {
        var forged = Content.ToArray();
        forged[0] ^= 0x5A;
        return forged;
    }

    private (int Index, SourceMode Mode) Which(HttpContext ctx)
    {
        var index = Array.IndexOf(_ports, ctx.Connection.LocalPort);
        return (index, index >= 0 && index < Modes.Length ? Modes[index] : SourceMode.NotFound);
    }

    private async Task PiecesAsync(HttpContext ctx, string sha256)
    {
        var (index, mode) = Which(ctx);
        ListRequests.Enqueue($"{index}:{mode}");
        var asked = _listRequests.AddOrUpdate(ctx.Connection.LocalPort, 1, (_, c) => c + 1);
        if (mode == SourceMode.LateList && asked == 2 && SecondListDelay > TimeSpan.Zero)
        {
            await Task.Delay(SecondListDelay, ctx.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
        }

        if (mode == SourceMode.NotFound || sha256 != Sha256 || (mode == SourceMode.LateList && asked <= LateAnswers))
        {
            ctx.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        var list = mode == SourceMode.Forger ? PieceListOf(Forged(), PieceSize) with { Sha256 = Sha256 } : PieceListOf(Content, PieceSize);
        if (mode == SourceMode.BadList)
        {
            list = list with { Pieces = [.. list.Pieces.Skip(1)] };
        }

        ctx.Response.ContentType = "application/json";
        await ctx.Response.Body.WriteAsync(JsonSerializer.SerializeToUtf8Bytes(list, StatusJsonContext.Default.PieceList));
    }

    private async Task BlobAsync(HttpContext ctx, string sha256)
    {
        var (index, mode) = Which(ctx);
        var port = ctx.Connection.LocalPort;
        var n = _requests.AddOrUpdate(port, 1, (_, c) => c + 1);
        var answers = _answers.GetOrAdd(port, _ => new ConcurrentQueue<(DateTime, int)>());
        if (mode == SourceMode.NotFound || sha256 != Sha256 || index < 0
            || (mode == SourceMode.LateList && _listRequests.GetValueOrDefault(port) <= LateAnswers))
        {
            answers.Enqueue((DateTime.UtcNow, 404));
            ctx.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        var count = PieceList.CountFor(Content.Length, PieceSize);
        var asked = (int)((ctx.Request.GetTypedHeaders().Range?.Ranges.FirstOrDefault()?.From ?? 0) / PieceSize);
        if (mode is SourceMode.Partial or SourceMode.Claims)
        {
            ctx.Response.Headers[ApiHeaders.PiecesHeld] = PieceBitfield.Format(count, p => mode == SourceMode.Claims || Holds.Contains(p));
        }

        if ((mode == SourceMode.Busy && n <= BusyAnswers) || mode == SourceMode.Claims || (mode == SourceMode.Partial && !Holds.Contains(asked)))
        {
            answers.Enqueue((DateTime.UtcNow, 503));
            ctx.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            ctx.Response.Headers.RetryAfter = "1";
            return;
        }

        var range = ctx.Request.GetTypedHeaders().Range?.Ranges.FirstOrDefault();
        var from = range?.From ?? 0;
        var to = Math.Min(range?.To ?? (Content.Length - 1), Content.Length - 1);
        if (mode is SourceMode.Gated or SourceMode.Forger && n > GateFrom)
        {
            await _gate.Task.WaitAsync(TimeSpan.FromSeconds(60), ctx.RequestAborted);
        }

        answers.Enqueue((DateTime.UtcNow, range is null ? 200 : 206));
        var length = (int)(to - from + 1);
        ctx.Response.StatusCode = range is null ? StatusCodes.Status200OK : StatusCodes.Status206PartialContent;
        if (range is not null)
        {
            ctx.Response.Headers.ContentRange = $"bytes {from}-{to}/{Content.Length}";
        }

        ctx.Response.ContentLength = length;
        var body = (mode == SourceMode.Forger ? Forged() : Content).AsMemory((int)from, length);
        if (mode == SourceMode.BadPiece)
        {
            var bad = BadPiece < 0 ? from : (long)(BadPiece % PieceList.CountFor(Content.Length, PieceSize)) * PieceSize;
            if (bad >= from && bad <= to)
            {
                var copy = body.ToArray();
                copy[bad - from] ^= 0x5A;
                body = copy;
            }
        }

        if (mode == SourceMode.Drip)
        {
            await ctx.Response.StartAsync(ctx.RequestAborted);
            var until = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            for (var sent = 0; sent < length && DateTime.UtcNow < until && !ctx.RequestAborted.IsCancellationRequested; sent++)
            {
                Interlocked.Increment(ref _bodyBytesSent); // before the write: the client may read it before it returns
                await ctx.Response.Body.WriteAsync(body.Slice(sent, 1), ctx.RequestAborted);
                await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
                await Task.Delay(DripEvery, ctx.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
            }

            ctx.Abort();
            return;
        }

        if (mode == SourceMode.Ragged)
        {
            var random = new Random((int)from ^ length);
            for (var sent = 0; sent < length;)
            {
                var bit = Math.Min(random.Next(1, 3001), length - sent);
                Interlocked.Add(ref _bodyBytesSent, bit);
                await ctx.Response.Body.WriteAsync(body.Slice(sent, bit), ctx.RequestAborted);
                await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
                sent += bit;
            }

            return;
        }

        var cut = mode is SourceMode.DieMidBody or SourceMode.Stall ? length / 2 : length;
        for (var sent = 0; sent < cut;)
        {
            var n2 = Math.Min(Chunk, cut - sent);
            Interlocked.Add(ref _bodyBytesSent, n2);
            await ctx.Response.Body.WriteAsync(body.Slice(sent, n2), ctx.RequestAborted);
            sent += n2;
        }

        if (mode == SourceMode.DieMidBody)
        {
            await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
            ctx.Abort();
        }
        else if (mode == SourceMode.Stall)
        {
            await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
            await Task.Delay(TimeSpan.FromSeconds(60), ctx.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
            ctx.Abort();
        }
    }

    public async ValueTask DisposeAsync()
    {
        OpenGate();
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(bound.Token);
        await _app.DisposeAsync();
    }
}
