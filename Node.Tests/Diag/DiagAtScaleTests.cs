using System.Diagnostics;
using System.Net;
using PeerPatch.Diag;
using PeerPatch.Node.Tests.Support;
using PeerPatch.Protocol.Status;

namespace PeerPatch.Node.Tests.Diag;

/// <summary>
/// peerpatch-diag on a big LAN: a few slow nodes (a busy PC, a full disk) must not add their timeouts one after
/// another. Fake nodes on loopback (HttpListener) answer /v1/status at once; some answer /v1/patches late.
/// </summary>
[Trait("Category", "Network")]
public sealed class DiagAtScaleTests
{
    [Fact]
    public async Task Patches_With40Nodes_Of8Slow_TakesAboutOneTimeout_NotOnePerSlowNode()
    {
        var nodes = Enumerable.Range(1, 40).Select(k => new FakeNode($"n{k:x16}", k == 1 ? "server" : "client", slowPatches: k % 5 == 0)).ToList();
        try
        {
            string[] args = ["patches", "--json", "--timeout", "1.5", .. nodes.SelectMany(n => new[] { "--node", n.Url })];
            var watch = Stopwatch.StartNew();
            var code = await DiagApp.RunAsync(args);
            watch.Stop();

            Assert.Equal(0, code);
            Assert.All(nodes, n => Assert.True(n.PatchRequests > 0, $"{n.Id} was not asked for its patches"));
            // 8 slow nodes at 1.5 s each one after another: at least 12 s; side by side: about 2 s (7.3 s seen with
            // the machine's 2 cores overloaded by parallel test classes), so the bound sits below the sequential floor.
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(9), $"diag patches took {watch.Elapsed.TotalSeconds:F1} s with 8 of 40 nodes slow");
        }
        finally
        {
            nodes.ForEach(n => n.Dispose());
        }
    }

    private sealed class FakeNode : IDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly NodeStatus _status;
        private readonly bool _slowPatches;
        private int _patchRequests;

        public FakeNode(string id, string role, bool slowPatches)
        {
            Id = id;
            _slowPatches = slowPatches;
            var port = FreePorts.Pair().Http;
            Url = $"http://127.0.0.1:{port}/";
            _status = new NodeStatus(
                id, "i", "0.1.0", 1, "host", role, role == "server" ? "this node" : "127.0.0.1:1", "n0000000000000001", 1, true, 39, "bench-1-amd64", 0,
                new BlobStatus(0, 0, 0, 0, 0), new DiskStatus(100, 50), 0, 10, false, port - 1, port, 0,
                new MdnsStatus([], 0, 0, 0), new TrafficStats(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), 1, 1);
            _listener.Prefixes.Add(Url);
            _listener.Start();
            _ = ServeAsync();
        }

        public string Id { get; }

        public string Url { get; }

        public int PatchRequests => Volatile.Read(ref _patchRequests);

        public void Dispose() => _listener.Close();

        private async Task ServeAsync()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext ctx;
                try
                {
                    ctx = await _listener.GetContextAsync();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
                {
                    return;
                }

                _ = Task.Run(async () =>
                {
                    try
                    {
                        var path = ctx.Request.Url!.AbsolutePath;
                        string body;
                        if (path == "/v1/status")
                        {
                            body = System.Text.Json.JsonSerializer.Serialize(_status, StatusJsonContext.Default.NodeStatus);
                        }
                        else if (path == "/v1/patches")
                        {
                            Interlocked.Increment(ref _patchRequests);
                            if (_slowPatches)
                            {
                                await Task.Delay(TimeSpan.FromSeconds(10)); // a busy PC: later than diag's --timeout
                            }

                            body = "[]";
                        }
                        else
                        {
                            body = "[]";
                        }

                        ctx.Response.ContentType = "application/json";
                        var bytes = System.Text.Encoding.UTF8.GetBytes(body);
                        await ctx.Response.OutputStream.WriteAsync(bytes);
                        ctx.Response.Close();
                    }
                    catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or IOException or InvalidOperationException)
                    {
                    }
                });
            }
        }
    }
}
