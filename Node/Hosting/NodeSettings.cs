using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using PeerPatch.Node.Apt;
using PeerPatch.Node.Cluster;
using PeerPatch.Node.Http;
using PeerPatch.Node.Primitives;
using PeerPatch.Node.Redirect;
using PeerPatch.Node.Security;
using PeerPatch.Node.ServerLink;
using PeerPatch.Node.Serving;
using PeerPatch.Node.Sources;
using PeerPatch.Node.Transfer;
using PeerPatch.Node.Updating;

namespace PeerPatch.Node.Hosting;

/// <summary>
/// Every options class of the node, each bound by its own <c>FromConfiguration</c> and checked by the validator beside
/// it, all before anything starts: a bad configuration fails at once with every failure named
/// (<see cref="OptionsValidationException"/>).
/// </summary>
internal sealed record NodeSettings(
    CoreOptions Core,
    SecurityOptions Security,
    TransferOptions Transfer,
    ClusterOptions Cluster,
    SourcesOptions Sources,
    ServingOptions Serving,
    ServerLinkOptions ServerLink,
    UpdatingOptions Updating,
    RedirectOptions Redirect,
    AptOptions Apt,
    HttpOptions Http,
    LoggingOptions Logging)
{
    public static NodeSettings Load(IConfiguration configuration)
    {
        var errors = new List<string>();
        T Check<T>(T options, IValidateOptions<T> validator)
            where T : class
        {
            if (validator.Validate(null, options) is { Failed: true } result)
            {
                errors.AddRange(result.Failures);
            }

            return options;
        }

        var settings = new NodeSettings(
            Check(CoreOptions.FromConfiguration(configuration), new CoreOptionsValidator()),
            Check(SecurityOptions.FromConfiguration(configuration), new SecurityOptionsValidator()),
            Check(TransferOptions.FromConfiguration(configuration), new TransferOptionsValidator()),
            Check(ClusterOptions.FromConfiguration(configuration), new ClusterOptionsValidator()),
            Check(SourcesOptions.FromConfiguration(configuration), new SourcesOptionsValidator()),
            Check(ServingOptions.FromConfiguration(configuration), new ServingOptionsValidator()),
            Check(ServerLinkOptions.FromConfiguration(configuration), new ServerLinkOptionsValidator()),
            Check(UpdatingOptions.FromConfiguration(configuration), new UpdatingOptionsValidator()),
            Check(RedirectOptions.FromConfiguration(configuration), new RedirectOptionsValidator()),
            Check(AptOptions.FromConfiguration(configuration), new AptOptionsValidator()),
            Check(HttpOptions.FromConfiguration(configuration), new HttpOptionsValidator()),
            Check(LoggingOptions.FromConfiguration(configuration), new LoggingOptionsValidator()));
        if (errors.Count > 0)
        {
            throw new OptionsValidationException("configuration", typeof(NodeSettings), errors);
        }

        return settings;
    }
}
