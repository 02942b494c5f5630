using System.Text.Json.Serialization.Metadata;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using PeerPatch.Node.Cluster;
using PeerPatch.Node.Transfer;
using PeerPatch.Protocol.Status;

namespace PeerPatch.Node.Http;

/// <summary>
/// GET /v1/lan: asks every member this node knows for its status (and, on request, its traffic history) over the
/// LAN, at most 32 at a time with a 2 s limit each, and returns them beside this node's own. One answer is reused
/// for 2 s, so open dashboards do not multiply the fan-out. Answers are untrusted: size-capped and parsed strictly.
/// </summary>
internal sealed class LanSurvey(
    NodeStatusReporter reporter,
    ClusterService membership,
    StatsHistory history,
    [FromKeyedServices(HttpClients.Lan)] HttpClient http,
    TimeProvider time)
{
    private const int MaxDocumentBytes = 1 << 20;
    private static readonly TimeSpan PerNode = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Reuse = TimeSpan.FromSeconds(2);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly SemaphoreSlim _parallel = new(32, 32);
    private LanSnapshot? _last;
    private bool _lastHadHistory;

    public async Task<LanSnapshot> TakeAsync(bool withHistory, CancellationToken ct)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var now = time.GetUtcNow();
            if (_last is { } last && now - last.At < Reuse && (_lastHadHistory || !withHistory))
            {
                return last;
            }

            var since = now.ToUnixTimeSeconds() - 3600;
            var members = membership.MemberStatuses();
            var answers = await Task.WhenAll(members.Select(m => AskAsync(m, withHistory, since, ct))).ConfigureAwait(false);
            IReadOnlyList<HistorySample>? sum = null;
            if (withHistory)
            {
                sum = Sum([history.Samples(since), .. answers.Where(a => a.History is not null).Select(a => a.History!)]);
            }

            _last = new LanSnapshot(now, reporter.Current(), answers.Select(a => a.Node).ToList(), sum);
            _lastHadHistory = withHistory;
            return _last;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Adds samples with the same time; a node missing a time contributes its latest earlier sample.</summary>
    internal static IReadOnlyList<HistorySample> Sum(IReadOnlyList<IReadOnlyList<HistorySample>> perNode)
    {
        var times = perNode.SelectMany(h => h.Select(s => s.At)).Distinct().Order().ToList();
        var result = new List<HistorySample>(times.Count);
        var cursors = new int[perNode.Count];
        foreach (var at in times)
        {
            long internet = 0, fetched = 0, served = 0;
            for (var i = 0; i < perNode.Count; i++)
            {
                var h = perNode[i];
                while (cursors[i] + 1 < h.Count && h[cursors[i] + 1].At <= at)
                {
                    cursors[i]++;
                }

                if (h.Count > 0 && h[cursors[i]].At <= at)
                {
                    internet += h[cursors[i]].InternetBytes;
                    fetched += h[cursors[i]].LanBytesFetched;
                    served += h[cursors[i]].LanBytesServed;
                }
            }

            result.Add(new HistorySample(at, internet, fetched, served));
        }

        return result;
    }

    private async Task<(LanNode Node, IReadOnlyList<HistorySample>? History)> AskAsync(MemberStatus member, bool withHistory, long since, CancellationToken ct)
    {
        await _parallel.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(PerNode);
            var host = member.Address.Contains(':', StringComparison.Ordinal) ? $"[{member.Address}]" : member.Address;
            var baseUri = new Uri($"http://{host}:{member.HttpPort}/");
            var status = await GetAsync(new Uri(baseUri, "v1/status"), StatusJsonContext.Default.NodeStatus, timeout.Token).ConfigureAwait(false);
            var samples = withHistory
                ? await GetAsync(new Uri(baseUri, $"v1/history?since={since}"), StatusJsonContext.Default.ListHistorySample, timeout.Token).ConfigureAwait(false)
                : null;
            return (new LanNode(member, status, null), samples);
        }
        catch (Exception e) when (e is HttpRequestException or JsonException or IOException or UriFormatException
                                   || (e is OperationCanceledException && !ct.IsCancellationRequested))
        {
            return (new LanNode(member, null, e is OperationCanceledException ? $"no answer within {PerNode.TotalSeconds:0} s" : e.Message), null);
        }
        finally
        {
            _parallel.Release();
        }
    }

    private async Task<T> GetAsync<T>(Uri url, JsonTypeInfo<T> type, CancellationToken ct)
    {
        using var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
        if (response.Content.Headers.ContentLength > MaxDocumentBytes)
        {
            throw new HttpRequestException($"{url}: answer larger than {MaxDocumentBytes} bytes");
        }

        var body = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        await using (body.ConfigureAwait(false))
        {
            return await StatusJson.ReadAsync(body, type, MaxDocumentBytes, ct).ConfigureAwait(false);
        }
    }
}
