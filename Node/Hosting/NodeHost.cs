using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PeerPatch.Node.Cluster;
using PeerPatch.Node.Http;
using PeerPatch.Node.Serving;
using PeerPatch.Node.Sources;
using PeerPatch.Node.Transport;
using PeerPatch.Node.Updating;
using PeerPatch.Protocol.Status;
using Serilog;

namespace PeerPatch.Node.Hosting;

/// <summary>Builds a node: configuration, logging, the data directory, every service and the HTTP endpoints.</summary>
internal static class NodeHost
{
    public static WebApplication Build(IConfiguration configuration) => Build(configuration, TimeProvider.System);

    /// <summary>Builds a node on the given clock (tests inject one whose wall time jumps).</summary>
    internal static WebApplication Build(IConfiguration configuration, TimeProvider time)
    {
        var options = new NodeOptions();
        configuration.Bind(options);
        var validation = new NodeOptionsValidator().Validate(null, options);
        if (validation.Failed)
        {
            throw new OptionsValidationException(nameof(NodeOptions), typeof(NodeOptions), validation.Failures);
        }

        var key = Security.ClusterKeyFile.Load(options.ClusterKeyFile, out var keyPath, out var keyWarning);
        var random = new SystemRandomSource();
        var data = NodeData.Open(options, random, time);
        try
        {
            return Build(configuration, options, data, time, random, new KeySetting(key, keyPath, keyWarning));
        }
        catch
        {
            data.Dispose();
            throw;
        }
    }

    private static WebApplication Build(IConfiguration configuration, NodeOptions options, NodeData data, TimeProvider time, IRandomSource random, KeySetting key)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddConfiguration(configuration);
        builder.Host.UseSystemd();
        builder.Host.UseWindowsService(o => o.ServiceName = "PeerPatch");
        ConfigureLogging(builder, options);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Parse(options.Bind), options.HttpPort, l => l
                .Use(next => connection => l.ApplicationServices.GetRequiredService<ConnectionLimiter>().OnConnectionAsync(connection, next))
                .Use(next => connection => l.ApplicationServices.GetRequiredService<Apt.ConnectTunnel>().OnConnectionAsync(connection, next)));
            k.AddServerHeader = false;
            k.Limits.MaxConcurrentConnections = 4096;
            k.Limits.MaxRequestBodySize = 1 << 20; // pushes raise it to their declared size
            k.Limits.MaxRequestHeadersTotalSize = 32 * 1024;
            k.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(10);
            k.Limits.KeepAliveTimeout = TimeSpan.FromMinutes(2);
        });

        var services = builder.Services;
        var identity = new NodeIdentity(data.NodeId, random.NextId().ToString("x16", System.Globalization.CultureInfo.InvariantCulture), options.OsVersion ?? OsVersionDetector.Detect(), NodeIdentity.BuildVersion);
        services.AddSingleton(options);
        services.AddSingleton(data);
        services.AddSingleton(data.Database);
        services.AddSingleton(data.Store);
        services.AddSingleton(identity);
        services.AddSingleton(key);
        services.AddSingleton(new Security.ClusterAuth(key.Key, identity, time));
        services.AddSingleton(time);
        services.AddSingleton(random);
        services.AddSingleton(new NodeStartTime(time.GetUtcNow()));
        services.AddSingleton(new NodeStats());
        services.AddSingleton<NodeEvents>();
        services.AddSingleton<StatsHistory>();
        services.AddHostedService(sp => sp.GetRequiredService<StatsHistory>());
        services.AddSingleton<NodeStatusReporter>();
        services.AddSingleton<LanSurvey>();
        services.AddSingleton<HttpEndpointInfo>();
        services.AddSingleton<ClusterState>();
        services.AddSingleton(new TransportOptions());
        services.AddSingleton(new ClaimPolicy(options.ClaimLease, options.ClaimStallTimeout, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(2)));
        services.AddSingleton<ClaimTable>();
        services.AddSingleton(_ =>
        {
            var index = new PatchIndex();
            index.Load(data.Database.ListPatches());
            return index;
        });
        // The transport starts first: the hosted services after it use it from their first moment.
        services.AddSingleton<LanTransport>();
        services.AddHostedService(sp => sp.GetRequiredService<LanTransport>());
        services.AddSingleton<HolderIndex>();
        services.AddSingleton<BlobPuller>();
        services.AddHostedService(sp => sp.GetRequiredService<BlobPuller>());
        services.AddHostedService<InventoryReporter>();
        services.AddSingleton<ClusterService>();
        services.AddHostedService(sp => sp.GetRequiredService<ClusterService>());
        services.AddSingleton<HitRecorder>();
        services.AddHostedService(sp => sp.GetRequiredService<HitRecorder>());
        services.AddSingleton<PatchServer>();
        services.AddSingleton<ILanRequestHandler>(sp => sp.GetRequiredService<PatchServer>());
        services.AddHostedService<BlobScrubber>();

        services.AddSingleton<Redirect.RedirectTable>();
        services.AddHostedService(sp => sp.GetRequiredService<Redirect.RedirectTable>());
        services.AddHostedService<Redirect.RedirectListener>();
        services.AddSingleton<Redirect.UpstreamResolver>();
        services.AddSingleton<Redirect.RedirectCache>();
        services.AddKeyedSingleton(HttpClients.Internet, (sp, _) => HttpClients.CreateInternet(
            options, time, sp.GetRequiredService<ILogger<InternetBoundsHandler>>(), $"PeerPatch/{identity.SoftwareVersion}", sp.GetRequiredService<Redirect.UpstreamResolver>().ConnectAsync));
        services.AddKeyedSingleton(HttpClients.InternetRelay, (sp, _) => HttpClients.CreateInternet(
            options, time, sp.GetRequiredService<ILogger<InternetBoundsHandler>>(), $"PeerPatch/{identity.SoftwareVersion}", sp.GetRequiredService<Redirect.UpstreamResolver>().ConnectAsync, followRedirects: false));
        services.AddKeyedSingleton(HttpClients.Lan, (sp, _) => new HttpClient(new Security.SigningHandler(sp.GetRequiredService<Security.ClusterAuth>(), time)
        {
            InnerHandler = new SocketsHttpHandler
            {
                UseProxy = false,
                ConnectTimeout = TimeSpan.FromSeconds(2),
                AutomaticDecompression = DecompressionMethods.None,
            },
        })
        { Timeout = Timeout.InfiniteTimeSpan, DefaultRequestHeaders = { { "User-Agent", $"PeerPatch/{identity.SoftwareVersion}" } } });

        var sourceChoice = SourceChoice.ForThisMachine(options.Sources);
        services.AddSingleton<AptCommands>();
        services.AddSingleton<AptListHashes>();
        foreach (var spec in sourceChoice.Sources)
        {
            if (spec.Kind == "apt")
            {
                services.AddSingleton<IPatchSource, AptSource>();
            }
            else
            {
                services.AddSingleton<IPatchSource>(sp => new ManifestFeedSource(spec.Target, sp.GetRequiredKeyedService<HttpClient>(HttpClients.Internet), options.MaxPatchBytes));
            }
        }

        services.AddSingleton<IServerChannelProvider, ServerChannelProvider>();
        services.AddSingleton<InternetDownloader>();
        services.AddSingleton<LanFetcher>();
        services.AddSingleton<PatchApplier>();
        services.AddSingleton<PassActivity>();
        services.AddSingleton<Apt.AptCatalog>();
        services.AddSingleton<Apt.LocalAddresses>();
        services.AddSingleton<Apt.AptSourcesList>();
        services.AddSingleton<Apt.AptRelayPolicy>();
        services.AddSingleton<Apt.AptProxy>();
        services.AddSingleton<Apt.ConnectTunnel>();
        services.AddSingleton<ConnectionLimiter>();
        services.AddSingleton<PatchPipeline>();
        services.AddSingleton<UpdateRunner>();
        services.AddHostedService<UpdateScheduler>();
        services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.WriteIndented = false;
            HttpJson.Configure(o.SerializerOptions); // source-generated metadata only (Native AOT)
        });

        var app = builder.Build();
        var redirects = app.Services.GetRequiredService<Redirect.RedirectTable>();
        app.Use((ctx, next) =>
        {
            if (Apt.AptProxy.IsProxyRequest(ctx, out var target))
            {
                return ctx.RequestServices.GetRequiredService<Apt.AptProxy>().HandleAsync(ctx, target, transparent: false);
            }

            // A request for a redirected domain (the hosts file sent it here): the transparent cache.
            if (redirects.Any && redirects.IsRedirected(ctx.Request.Host.Host) && Apt.AptProxy.TransparentTarget(ctx) is { } url)
            {
                return ctx.RequestServices.GetRequiredService<Apt.AptProxy>().HandleAsync(ctx, url, transparent: true);
            }

            return next(ctx);
        });
        Security.WriteAuthorization.Use(app);
        app.UseRouting();
        MetricsEndpoint.UseRequestMetrics(app);
        DashboardEndpoints.Map(app);
        MetricsEndpoint.Map(app);
        BlobEndpoints.Map(app);
        DatabaseEndpoints.Map(app);
        StatusEndpoints.Map(app);
        UpdateEndpoints.Map(app);
        InventoryEndpoints.Map(app);

        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("PeerPatch.Node");
        var cluster = app.Services.GetRequiredService<ClusterState>();
        RecordElections(cluster, app.Services.GetRequiredService<NodeStats>(), app.Services.GetRequiredService<NodeEvents>());
        log.LogInformation(
            "node {PeerId} starting: role {Role}, server {Server}, os {Os}, data {DataDir}, udp {Port}, http {HttpPort}",
            identity.NodeId, cluster.Elects ? "elected" : cluster.Role.ToString(), cluster.ServerAddress ?? (cluster.IsServer ? "this node" : "to be elected"), identity.OsVersion, options.DataDir, options.Port, options.HttpPort);
        log.LogInformation(
            "data directory checked: {Temps} temp files removed, {Dropped} missing/wrong blobs dropped, {Orphans} unrecorded files removed; {Blobs} blobs ({Bytes} bytes) kept, cap {Cap} bytes",
            data.Report.TempFilesRemoved, data.Report.MissingOrWrongBlobsDropped, data.Report.OrphanFilesRemoved, data.Report.BlobsKept, data.Report.BytesKept, data.Store.Options.CapacityBytes);
        if (key.Key is not null)
        {
            log.LogInformation("cluster key {ClusterId} from {KeyFile}: only its holders are members; HTTP writes need it", key.Key.ClusterId, key.Path);
        }
        else
        {
            log.LogInformation("no cluster key: an open LAN (any node may join; see `peerpatch keygen`). Patches are still applied only when their bytes match the upstream list");
        }

        if (key.Warning is not null)
        {
            log.LogWarning("{Warning}", key.Warning);
        }

        if (configuration.GetSection("Serilog").Exists())
        {
            log.LogWarning("the \"Serilog\" configuration section is no longer read: set LogLevel and LogFile instead");
        }

        if (sourceChoice.Note is { } sourceNote)
        {
            log.LogInformation("{SourceChoice}", sourceNote);
        }

        return app;
    }

    private static void RecordElections(ClusterState cluster, NodeStats stats, NodeEvents events) => cluster.Changed += view =>
    {
        stats.Election();
        events.Add(
            NodeEventKinds.Election,
            view.Role == Protocol.Messages.NodeRole.Server
                ? $"this node became the LAN server (term {view.Term})"
                : view.ServerId is null ? $"no LAN server (term {view.Term})" : $"following server {view.ServerId} at {view.ServerAddress} (term {view.Term})");
    };

    private static void ConfigureLogging(WebApplicationBuilder builder, NodeOptions options)
    {
        var file = options.LogFile switch
        {
            null => NodeLogging.DefaultFile(options.DataDir),
            "" => null,
            var path => Path.GetFullPath(path),
        };
        builder.Services.AddSerilog((_, lc) => NodeLogging.Configure(lc, options.LogLevel, file, SyslogPriorityEnricher.UnderSystemd));
    }
}
