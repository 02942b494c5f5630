using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using PeerPatch.Node.Cluster;
using PeerPatch.Node.Primitives;

namespace PeerPatch.Node.Http;

/// <summary>
/// Read-only views of this node for admins and tools: GET /v1/status, /v1/members (the other nodes it knows),
/// /v1/events (recent events), /v1/history (traffic samples) and /v1/lan (every member's status, gathered now).
/// </summary>
internal static class StatusEndpoints
{
    public static void Map(WebApplication app)
    {
        app.MapGet("/v1/status", (NodeStatusReporter reporter) => reporter.Current());
        app.MapGet("/v1/members", (ClusterService membership) => membership.MemberStatuses());
        app.MapGet("/v1/events", (NodeEvents events, int? max) => events.Recent(Math.Clamp(max ?? 100, 1, NodeEvents.Capacity)));
        app.MapGet("/v1/history", (StatsHistory history, long? since) => history.Samples(since ?? 0));
        app.MapGet("/v1/lan", (LanSurvey survey, HttpContext ctx, int? history) =>
            survey.TakeAsync(history == 1, ctx.RequestAborted));
    }
}
