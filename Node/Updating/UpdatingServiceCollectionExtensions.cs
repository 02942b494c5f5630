using Microsoft.Extensions.DependencyInjection;

namespace PeerPatch.Node.Updating;

/// <summary>Registers update passes: the pipeline one patch goes through, the runner of a pass, and its schedule.</summary>
internal static class UpdatingServiceCollectionExtensions
{
    public static IServiceCollection AddUpdating(this IServiceCollection services, UpdatingOptions options)
    {
        services.AddSingleton(options);
        services.AddSingleton<IPatchApplier, PatchApplier>();
        services.AddSingleton<ProgressBoard>();
        services.AddSingleton<PolicyGuard>();
        services.AddSingleton<PatchPipeline>();
        services.AddSingleton<UpdateRunner>();
        services.AddHostedService<UpdateScheduler>();
        services.AddSingleton<ComplianceReporter>();
        services.AddHostedService(sp => sp.GetRequiredService<ComplianceReporter>());
        return services;
    }
}
