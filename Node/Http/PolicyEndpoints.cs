using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using PeerPatch.Node.Cluster;
using PeerPatch.Node.Policy;
using PeerPatch.Node.Primitives;
using PeerPatch.Node.ServerLink;
using PeerPatch.Node.Serving;
using PeerPatch.Node.Transport;
using PeerPatch.Protocol;
using PeerPatch.Protocol.Http;
using PeerPatch.Protocol.Status;

namespace PeerPatch.Node.Http;

/// <summary>
/// The LAN's policy over HTTP. GET /v1/policy: the server's (with ring 0's record as of now), or on any other node its
/// own copy. PUT /v1/policy (an admin's document), POST /v1/policy/approve and /v1/policy/hold (?patch=NAME[&amp;os=KEY]):
/// a new version at the server; any node passes them on to its server (signed with the cluster key, like every write
/// here), so `peerpatch policy set` works from any PC. A refused document is 400 with every problem; the old policy
/// stays. POST /v1/policy/offer (server only): a node's copy, adopted when sealed and newer (after a failover).
/// GET /v1/policy/next?after=VERSION (server only): the nodes' long poll, answered as soon as a newer version is in
/// force (204 after <see cref="NextWait"/> without one).
/// </summary>
internal static class PolicyEndpoints
{
    /// <summary>
    /// How long GET /v1/policy/next?after=VERSION (a node's long poll) waits for a version above VERSION before it
    /// answers 204; within <see cref="PolicyClient.Timeout"/>, so the node never gives up on a wait that is working.
    /// </summary>
    public static readonly TimeSpan NextWait = TimeSpan.FromSeconds(10);

    public static void Map(WebApplication app)
    {
        app.MapGet("/v1/policy", (ClusterState cluster, PolicyStore store, PolicyReplica replica) =>
            Results.Json(cluster.IsServer ? PolicyReplica.ToReply(store.WithRing0()) : replica.Offer(), StatusJsonContext.Default.PolicyReply));

        app.MapGet("/v1/policy/next", async (long after, HttpContext ctx, ClusterState cluster, PolicyStore store, TimeProvider time) =>
        {
            if (!cluster.IsServer)
            {
                return Results.Problem("this node is not the LAN server", statusCode: StatusCodes.Status409Conflict);
            }

            using var wait = new CancellationTokenSource(NextWait, time);
            using var either = CancellationTokenSource.CreateLinkedTokenSource(wait.Token, ctx.RequestAborted);
            try
            {
                await store.NewerThanAsync(after, either.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (wait.IsCancellationRequested && !ctx.RequestAborted.IsCancellationRequested)
            {
                return Results.NoContent(); // nothing newer within the wait: the node asks again
            }

            return Results.Json(PolicyReplica.ToReply(store.WithRing0()), StatusJsonContext.Default.PolicyReply);
        });

        app.MapPut("/v1/policy", async (HttpContext ctx, ClusterState cluster, PolicyStore store, NodeIdentity self, IServerChannelProvider servers, PolicyClient client, PolicyReplica replica) =>
        {
            var body = await ReadAsync(ctx, PolicyParser.MaxBytes).ConfigureAwait(false);
            if (body is null)
            {
                return Problems([$"the policy is larger than {PolicyParser.MaxBytes} bytes"]);
            }

            if (!cluster.IsServer)
            {
                return await ForwardAsync(servers, client, replica, HttpMethod.Put, "v1/policy", body, ctx.RequestAborted).ConfigureAwait(false);
            }

            var change = store.TrySet(body, SetBy(ctx, self));
            return change.Ok ? Results.Json(PolicyReplica.ToReply(change.State), StatusJsonContext.Default.PolicyReply) : Problems(change.Errors);
        });

        app.MapPost("/v1/policy/approve", (HttpContext ctx, ClusterState cluster, PolicyStore store, NodeIdentity self, IServerChannelProvider servers, PolicyClient client, PolicyReplica replica) =>
            RuleAsync(ctx, cluster, store, self, servers, client, replica, "approve"));

        app.MapPost("/v1/policy/hold", (HttpContext ctx, ClusterState cluster, PolicyStore store, NodeIdentity self, IServerChannelProvider servers, PolicyClient client, PolicyReplica replica) =>
            RuleAsync(ctx, cluster, store, self, servers, client, replica, "hold"));

        app.MapPost("/v1/policy/offer", async (HttpContext ctx, ClusterState cluster, PolicyStore store) =>
        {
            if (!cluster.IsServer)
            {
                return Results.Problem("this node is not the LAN server", statusCode: StatusCodes.Status409Conflict);
            }

            var body = await ReadAsync(ctx, 8 << 20).ConfigureAwait(false);
            PolicyReply? offer;
            try
            {
                offer = body is null ? null : JsonSerializer.Deserialize(body, StatusJsonContext.Default.PolicyReply);
            }
            catch (JsonException)
            {
                offer = null;
            }

            if (offer?.Envelope is not { } envelope)
            {
                return Results.Problem("not a policy offer", statusCode: StatusCodes.Status400BadRequest);
            }

            var adopted = store.TryAdopt(envelope, offer.Seal, out var why);
            return Results.Text(adopted ? "adopted\n" : $"kept this server's policy: {why}\n");
        });
    }

    private static async Task<IResult> RuleAsync(HttpContext ctx, ClusterState cluster, PolicyStore store, NodeIdentity self, IServerChannelProvider servers, PolicyClient client, PolicyReplica replica, string verb)
    {
        var patch = ctx.Request.Query["patch"].ToString();
        var os = ctx.Request.Query["os"].ToString();
        var problems = new List<string>();
        if (patch.Length is 0 or > PolicyParser.MaxString || patch.Any(char.IsControl))
        {
            problems.Add($"patch: a patch name or glob of 1 to {PolicyParser.MaxString} printable characters is required");
        }

        if (os.Length > 0 && !WireFormat.IsOsVersion(os))
        {
            problems.Add($"os: \"{os}\" is not an OS key like debian-12-amd64");
        }

        if (problems.Count > 0)
        {
            return Problems(problems);
        }

        if (!cluster.IsServer)
        {
            return await ForwardAsync(servers, client, replica, HttpMethod.Post, $"v1/policy/{verb}{ctx.Request.QueryString.Value}", null, ctx.RequestAborted).ConfigureAwait(false);
        }

        var rule = new PatchRule(patch, os.Length > 0 ? os : null);
        var change = store.Change(SetBy(ctx, self), document => verb == "approve"
            ? document with { Approved = [.. document.Approved.Where(r => r != rule), rule], Held = [.. document.Held.Where(r => r != rule)] }
            : document with { Held = [.. document.Held.Where(r => r != rule), rule], Approved = [.. document.Approved.Where(r => r != rule)] });
        return change.Ok ? Results.Json(PolicyReplica.ToReply(change.State), StatusJsonContext.Default.PolicyReply) : Problems(change.Errors);
    }

    private static PolicyReply? Deserialize(byte[] body)
    {
        try
        {
            return JsonSerializer.Deserialize(body, StatusJsonContext.Default.PolicyReply);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static async Task<IResult> ForwardAsync(IServerChannelProvider servers, PolicyClient client, PolicyReplica replica, HttpMethod method, string path, byte[]? body, CancellationToken ct)
    {
        if (servers.Current is not { IsLocal: false } server)
        {
            return Results.Problem("no LAN server is known: the policy can only be changed at the server", statusCode: StatusCodes.Status503ServiceUnavailable);
        }

        try
        {
            var (status, reply) = await client.SendAsync(server, method, path, body, ct).ConfigureAwait(false);
            if (status == StatusCodes.Status200OK && Deserialize(reply) is { } accepted)
            {
                replica.TryAccept(accepted, out _); // this node has the new version at once; the others at their next sync
            }

            return Results.Text(System.Text.Encoding.UTF8.GetString(reply), "application/json", System.Text.Encoding.UTF8, status);
        }
        catch (LanUnavailableException e)
        {
            return Results.Problem($"the LAN server cannot be reached: {e.Message}", statusCode: StatusCodes.Status503ServiceUnavailable);
        }
    }

    private static IResult Problems(IReadOnlyList<string> errors) =>
        Results.Json(new PolicyProblems(errors), StatusJsonContext.Default.PolicyProblems, statusCode: StatusCodes.Status400BadRequest);

    private static string SetBy(HttpContext ctx, NodeIdentity self) =>
        ctx.Request.Headers[ApiHeaders.NodeId].ToString() is { } id && WireFormat.IsNodeId(id) ? id : self.NodeId;

    /// <summary>The body, or null when it is larger than <paramref name="max"/>.</summary>
    private static async Task<byte[]?> ReadAsync(HttpContext ctx, int max)
    {
        if (ctx.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = max + 1L;
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = await ctx.Request.Body.ReadAsync(chunk, ctx.RequestAborted).ConfigureAwait(false)) > 0)
            {
                buffer.Write(chunk, 0, read);
                if (buffer.Length > max)
                {
                    return null;
                }
            }
        }
        catch (BadHttpRequestException)
        {
            return null;
        }

        return buffer.ToArray();
    }
}
