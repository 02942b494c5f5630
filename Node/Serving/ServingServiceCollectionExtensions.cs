using Microsoft.Extensions.DependencyInjection;
using PeerPatch.Node.Transport;
using PeerPatch.Storage;

namespace PeerPatch.Node.Serving;

/// <summary>
/// Registers the LAN server's side: the patch index, claims, holders, the ranked sources of a hit, the request handler the transport answers
/// with (<see cref="PatchServer"/>), and the background pull, hit recording and scrubbing.
/// </summary>
internal static class ServingServiceCollectionExtensions
{
    public static IServiceCollection AddServing(this IServiceCollection services, ServingOptions options)
    {
        services.AddSingleton(options);
        services.AddSingleton(new ClaimPolicy(options.ClaimLease, options.ClaimStallTimeout, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(4), options.InternetDownloadsAtOnce));
        services.AddSingleton<ClaimTable>();
        services.AddSingleton(sp =>
        {
            var index = new PatchIndex();
            index.Load(sp.GetRequiredService<PatchDatabase>().ListPatches());
            return index;
        });
        services.AddSingleton<HolderIndex>();
        services.AddSingleton<SourceTable>();
        services.AddSingleton<ServerAddresses>();
        services.AddSingleton<BlobPuller>();
        services.AddHostedService(sp => sp.GetRequiredService<BlobPuller>());
        services.AddSingleton<HitRecorder>();
        services.AddHostedService(sp => sp.GetRequiredService<HitRecorder>());
        services.AddSingleton<ComplianceBook>();
        services.AddSingleton<IRingEvidence>(sp => sp.GetRequiredService<ComplianceBook>()); // ring 0's record comes from the compliance reports
        services.AddSingleton<PolicyStore>();
        services.AddSingleton<InternetGate>();
        services.AddSingleton<Cluster.IHeartbeatTally>(sp => sp.GetRequiredService<InternetGate>()); // the quota's count rides the heartbeats
        services.AddSingleton<PatchServer>();
        services.AddSingleton<ILanRequestHandler>(sp => sp.GetRequiredService<PatchServer>());
        services.AddHostedService<BlobScrubber>();
        services.AddHostedService<CacheTrimmer>();
        services.AddHostedService<MembershipWatch>();
        return services;
    }
}
