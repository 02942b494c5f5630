using System.Text.Json.Serialization.Metadata;
using System.Text.Json;
using PeerPatch.Protocol.Status;

namespace PeerPatch.Diag;

/// <summary>One node as peerpatch-diag saw it: where it is, and its status, or why there is none.</summary>
/// <param name="FoundBy">"mdns", "given" (--node) or "member" (listed by a given node).</param>
/// <param name="LastSeen">When discovery last heard of it (now for mDNS answers).</param>
internal sealed record NodeReport(string NodeId, string Url, string FoundBy, DateTimeOffset? LastSeen, bool Reachable, string? Error, NodeStatus? Status);

/// <summary>The LAN at one moment.</summary>
internal sealed record LanView(DateTimeOffset At, IReadOnlyList<NodeReport> Nodes)
{
    public IEnumerable<NodeReport> Answering => Nodes.Where(n => n.Status is not null);

    public IReadOnlyList<NodeReport> Servers => [.. Answering.Where(n => n.Status!.Role == "server").OrderByDescending(n => n.Status!.Term)];
}

/// <summary>
/// Finds the nodes (mDNS, or the --node URLs and the members they know) and reads each one's GET /v1/status over
/// HTTP, 32 at a time. Answers are untrusted: size-capped, parsed strictly, a failure is that node's error.
/// </summary>
internal sealed class LanReader(HttpClient http, DiagSettings settings)
{
    /// <summary>Most nodes asked at once (status reads, and the patches command's holdings).</summary>
    public const int MaxParallel = 32;

    private const int MaxDocumentBytes = 16 << 20;

    public async Task<LanView> ReadAsync(CancellationToken ct)
    {
        var now = DateTimeOffset.UtcNow;
        var targets = new Dictionary<string, (string Id, Uri Url, string FoundBy, DateTimeOffset? Seen)>(StringComparer.Ordinal);
        if (settings.Nodes.Count > 0)
        {
            foreach (var given in settings.Nodes)
            {
                var url = new Uri(given.TrimEnd('/') + "/");
                targets[url.ToString()] = ("?", url, "given", null);
                try
                {
                    foreach (var m in await GetAsync(new Uri(url, "v1/members"), StatusJsonContext.Default.ListMemberStatus, ct).ConfigureAwait(false))
                    {
                        var mu = new Uri($"http://{(m.Address.Contains(':', StringComparison.Ordinal) ? $"[{m.Address}]" : m.Address)}:{m.HttpPort}/");
                        targets.TryAdd(mu.ToString(), (m.NodeId, mu, "member", m.LastSeen));
                    }
                }
                catch (Exception e) when (IsNodeFailure(e, ct))
                {
                    // its status read below reports the problem
                }
            }
        }
        else
        {
            foreach (var f in await MdnsQuery.BrowseAsync(settings.Interfaces, settings.Listen, ct).ConfigureAwait(false))
            {
                targets.TryAdd(f.BaseUri.ToString(), (f.NodeId, f.BaseUri, "mdns", now));
            }
        }

        using var parallel = new SemaphoreSlim(MaxParallel, MaxParallel);
        var reports = await Task.WhenAll(targets.Values.Select(async t =>
        {
            await parallel.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                var status = await GetAsync(new Uri(t.Url, "v1/status"), StatusJsonContext.Default.NodeStatus, ct).ConfigureAwait(false);
                return new NodeReport(status.NodeId, t.Url.ToString(), t.FoundBy, t.Seen, true, null, status);
            }
            catch (Exception e) when (IsNodeFailure(e, ct))
            {
                return new NodeReport(t.Id, t.Url.ToString(), t.FoundBy, t.Seen, false, e is OperationCanceledException ? "no answer in time" : e.Message, null);
            }
            finally
            {
                parallel.Release();
            }
        })).ConfigureAwait(false);

        // A node given by URL and also listed by another is one node.
        var unique = reports.GroupBy(r => r.Reachable ? r.NodeId : r.Url, StringComparer.Ordinal).Select(g => g.OrderByDescending(r => r.Reachable).First());
        return new LanView(now, [.. unique.OrderByDescending(r => r.Status?.Role == "server").ThenBy(r => r.NodeId, StringComparer.Ordinal)]);
    }

    public async Task<T> GetAsync<T>(Uri url, JsonTypeInfo<T> type, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(settings.HttpTimeout);
        using var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
        if (response.Content.Headers.ContentLength > MaxDocumentBytes)
        {
            throw new HttpRequestException($"{url}: answer larger than {MaxDocumentBytes} bytes");
        }

        var body = await response.Content.ReadAsStreamAsync(timeout.Token).ConfigureAwait(false);
        await using (body.ConfigureAwait(false))
        {
            return await StatusJson.ReadAsync(body, type, MaxDocumentBytes, timeout.Token).ConfigureAwait(false);
        }
    }

    public static bool IsNodeFailure(Exception e, CancellationToken ct) =>
        e is HttpRequestException or JsonException or IOException or UriFormatException or NotSupportedException
        || (e is OperationCanceledException && !ct.IsCancellationRequested);
}
