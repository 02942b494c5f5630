using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using PeerPatch.Node.Hosting;
using PeerPatch.Node.Tests.Support;
using PeerPatch.Node.Transfer;

namespace PeerPatch.Node.Tests.Transfer;

/// <summary>
/// The internet client bounds each phase of every request itself (whatever code sends it), logs each timeout with the
/// URL without credentials, the phase and the bound, and tells a timeout from its caller giving up.
/// </summary>
[Trait("Category", "Network")]
public sealed class InternetBoundsHandlerTests
{
    [Fact]
    public async Task AConnectionThatNeverCompletes_FailsAtTheConnectBound_AndIsLogged()
    {
        var log = new ListLogger();
        using var client = Client(log, connect: async (_, ct) =>
        {
            await Task.Delay(Timeout.Infinite, ct);
            throw new InvalidOperationException("unreachable");
        });
        var watch = Stopwatch.StartNew();

        var e = await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync(new Uri("http://127.0.0.1:9/patch.bin")));

        Assert.Equal("no connection within 1 s", e.Message);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(4), $"took {watch.Elapsed.TotalSeconds:0.0} s");
        Assert.Contains("internet connect timeout: GET http://127.0.0.1:9/patch.bin waited 1 s: no connection", log.Lines);
    }

    [Fact]
    public async Task NoResponseHeaders_FailsAtTheHeadersBound_AndTheLogShowsNoCredentials()
    {
        await using var upstream = new HostileUpstream();
        var log = new ListLogger();
        using var client = Client(log);
        var url = new UriBuilder(upstream.Url(HostileMode.StallBeforeHeaders, "feed.json")) { UserName = "admin", Password = "hunter2" }.Uri;
        var watch = Stopwatch.StartNew();

        var e = await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync(url));

        Assert.Equal("no response headers within 2 s", e.Message);
        Assert.IsType<TimeoutException>(e.InnerException);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.Elapsed.TotalSeconds:0.0} s");
        var line = Assert.Single(log.Lines);
        Assert.Equal($"internet headers timeout: GET http://127.0.0.1:{upstream.Port}/StallBeforeHeaders/feed.json waited 2 s: no response headers", line);
        Assert.DoesNotContain("hunter2", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ABodyThatStalls_FailsTheReadAtTheStallBound_EvenForABufferedGet()
    {
        await using var upstream = new HostileUpstream();
        var log = new ListLogger();
        using var client = Client(log);
        var watch = Stopwatch.StartNew();

        await Assert.ThrowsAnyAsync<Exception>(() => client.GetStringAsync(upstream.Url(HostileMode.StallMidBody, "Release")));

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.Elapsed.TotalSeconds:0.0} s");
        Assert.Contains($"internet body timeout: GET http://127.0.0.1:{upstream.Port}/StallMidBody/Release waited 2 s: only 22 bytes in 2 s of waiting, less than the 2000 required", log.Lines);
    }

    [Fact]
    public async Task TheCallerGivingUp_IsACancellation_NotATimeout()
    {
        await using var upstream = new HostileUpstream();
        var log = new ListLogger();
        using var client = Client(log, headers: TimeSpan.FromMinutes(5));
        using var caller = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.GetAsync(upstream.Url(HostileMode.StallBeforeHeaders, "x"), caller.Token));

        Assert.Empty(log.Lines);
    }

    [Fact]
    public async Task EndlessRedirects_EndAtTheRedirectLimit_WithTheLastAnswer()
    {
        await using var upstream = new HostileUpstream();
        using var client = Client(new ListLogger());

        using var response = await client.GetAsync(upstream.Url(HostileMode.EndlessRedirect, "x"));

        Assert.Equal(System.Net.HttpStatusCode.Found, response.StatusCode);
        Assert.Equal(HttpClients.MaxRedirects + 1, upstream.Requests);
    }

    private static HttpClient Client(ListLogger log, Func<SocketsHttpConnectionContext, CancellationToken, ValueTask<Stream>>? connect = null, TimeSpan? headers = null) =>
        HttpClients.CreateInternet(
            new TransferOptions
            {
                InternetConnectTimeout = TimeSpan.FromSeconds(1),
                InternetHeadersTimeout = headers ?? TimeSpan.FromSeconds(2),
                InternetStallTimeout = TimeSpan.FromSeconds(2),
                InternetMinBytesPerSecond = 1000,
            },
            TimeProvider.System,
            log,
            "test",
            connect);

    private sealed class ListLogger : ILogger<InternetBoundsHandler>
    {
        private readonly ConcurrentQueue<string> _lines = new();

        public IReadOnlyList<string> Lines => [.. _lines];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            _lines.Enqueue(formatter(state, exception));
    }
}
