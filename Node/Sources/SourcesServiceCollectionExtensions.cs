using Microsoft.Extensions.DependencyInjection;
using PeerPatch.Node.Primitives;
using PeerPatch.Node.Transfer;

namespace PeerPatch.Node.Sources;

/// <summary>
/// Registers the patch sources this machine runs with (<see cref="SourceChoice"/>): one <see cref="IPatchSource"/>
/// per source, in the configured order. A new kind of source is one more branch here.
/// </summary>
internal static class SourcesServiceCollectionExtensions
{
    public static IServiceCollection AddSources(this IServiceCollection services, SourcesOptions options, SourceChoice choice)
    {
        services.AddSingleton(options);
        services.AddSingleton(choice);
        services.AddSingleton<AptCommands>();
        services.AddSingleton<InstallRunner>();
        services.AddSingleton<AptListHashes>();
        foreach (var spec in choice.Sources)
        {
            if (spec.Kind == "apt")
            {
                services.AddSingleton<IPatchSource, AptSource>();
            }
            else
            {
                services.AddSingleton<IPatchSource>(sp => new ManifestFeedSource(
                    spec.Target, sp.GetRequiredKeyedService<HttpClient>(HttpClients.Internet), sp.GetRequiredService<CoreOptions>().MaxPatchBytes));
            }
        }

        return services;
    }
}
