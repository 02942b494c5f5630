using Microsoft.Extensions.DependencyInjection;
using PeerPatch.Node.Primitives;
using PeerPatch.Node.Transfer;
using PeerPatch.Node.Transport;
using PeerPatch.Protocol.Http;
using PeerPatch.Protocol.Status;

namespace PeerPatch.Node.ServerLink;

/// <summary>
/// The policy's HTTP conversation with a remote server: fetch its copy, offer this node's, and forward an admin's
/// change (policy set, approve, hold) made on this node. Writes are signed with the cluster key by the LAN client's
/// <see cref="Security.SigningHandler"/>, like pushes and inventory reports. Every request is bounded by <see cref="Timeout"/>.
/// </summary>
internal sealed class PolicyClient([FromKeyedServices(HttpClients.Lan)] HttpClient lanHttp, NodeIdentity self, TimeProvider time)
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    private const int MaxReplyBytes = 8 << 20;

    public async Task<PolicyReply?> FetchAsync(IServerChannel server, CancellationToken ct)
    {
        var (status, body) = await SendAsync(server, HttpMethod.Get, "v1/policy", null, ct).ConfigureAwait(false);
        return status == 200 ? System.Text.Json.JsonSerializer.Deserialize(body, StatusJsonContext.Default.PolicyReply) : null;
    }

    /// <summary>
    /// The long poll: the server's copy as soon as it holds a version above <paramref name="after"/>; null when it
    /// had none within its wait (204). Throws <see cref="LanUnavailableException"/> when it cannot be asked, and
    /// <see cref="NotSupportedException"/> for any other answer (a server of an earlier version, or no longer the server).
    /// </summary>
    public async Task<PolicyReply?> NextAsync(IServerChannel server, long after, CancellationToken ct)
    {
        var (status, body) = await SendAsync(server, HttpMethod.Get, $"v1/policy/next?after={after}", null, ct).ConfigureAwait(false);
        return status switch
        {
            200 => System.Text.Json.JsonSerializer.Deserialize(body, StatusJsonContext.Default.PolicyReply),
            204 => null,
            _ => throw new NotSupportedException($"server {server.Name} answered the policy long poll with {status}"),
        };
    }

    public async Task<int> OfferAsync(IServerChannel server, PolicyReply mine, CancellationToken ct)
    {
        var body = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(mine, StatusJsonContext.Default.PolicyReply);
        return (await SendAsync(server, HttpMethod.Post, "v1/policy/offer", body, ct).ConfigureAwait(false)).Status;
    }

    /// <summary>Forwards a request to the server as is; its status and body come back (throws when the server cannot be reached).</summary>
    public async Task<(int Status, byte[] Body)> SendAsync(IServerChannel server, HttpMethod method, string pathAndQuery, byte[]? body, CancellationToken ct)
    {
        var url = new Uri(await server.HttpBaseAsync(ct).ConfigureAwait(false), pathAndQuery);
        using var request = new HttpRequestMessage(method, url);
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        }

        request.Headers.Add(ApiHeaders.NodeId, self.NodeId);
        using var timeout = new CancellationTokenSource(Timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
        try
        {
            using var response = await lanHttp.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
            if (response.Content.Headers.ContentLength > MaxReplyBytes)
            {
                throw new LanUnavailableException($"server {server.Name} sent a policy answer of {response.Content.Headers.ContentLength} bytes");
            }

            var bytes = await response.Content.ReadAsByteArrayAsync(linked.Token).ConfigureAwait(false);
            return ((int)response.StatusCode, bytes.Length > MaxReplyBytes ? [] : bytes);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            throw new LanUnavailableException($"server {server.Name} did not answer within {Timeout.TotalSeconds:0} s");
        }
        catch (HttpRequestException e)
        {
            throw new LanUnavailableException($"server {server.Name}: {e.Message}", e);
        }
    }
}
