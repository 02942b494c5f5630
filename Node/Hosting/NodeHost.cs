using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PeerPatch.Node.Apt;
using PeerPatch.Node.Cluster;
using PeerPatch.Node.Http;
using PeerPatch.Node.Redirect;
using PeerPatch.Node.Primitives;
using PeerPatch.Node.Security;
using PeerPatch.Node.ServerLink;
using PeerPatch.Node.Serving;
using PeerPatch.Node.Sources;
using PeerPatch.Node.Transfer;
using PeerPatch.Node.Transport;
using PeerPatch.Node.Updating;
using PeerPatch.Protocol.Status;
using Serilog;

namespace PeerPatch.Node.Hosting;

/// <summary>
/// Builds a node: configuration, logging, the data directory, then each layer's services (each folder registers its
/// own, bottom to top) and the HTTP pipeline. The composition root: nothing below it refers to it.
/// </summary>
internal static class NodeHost
{
    public static WebApplication Build(IConfiguration configuration) => Build(configuration, TimeProvider.System);

    /// <summary>Builds a node on the given clock (tests inject one whose wall time jumps).</summary>
    internal static WebApplication Build(IConfiguration configuration, TimeProvider time)
    {
        var settings = NodeSettings.Load(configuration);
        var key = ClusterKeyFile.Load(settings.Security.ClusterKeyFile, out var keyPath, out var keyWarning);
        var random = new SystemRandomSource();
        var data = NodeData.Open(settings.Core, random, time);
        try
        {
            return Build(configuration, settings, data, time, random, new KeySetting(key, keyPath, keyWarning));
        }
        catch
        {
            data.Dispose();
            throw;
        }
    }

    private static WebApplication Build(IConfiguration configuration, NodeSettings settings, NodeData data, TimeProvider time, IRandomSource random, KeySetting key)
    {
        var options = settings.Core;
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddConfiguration(configuration);
        builder.Host.UseSystemd();
        builder.Host.UseWindowsService(o => o.ServiceName = "PeerPatch");
        ConfigureLogging(builder, settings.Logging, options.DataDir);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Parse(options.Bind), options.HttpPort, l => l
                .Use(next => connection => l.ApplicationServices.GetRequiredService<ConnectionLimiter>().OnConnectionAsync(connection, next))
                .Use(next => connection => l.ApplicationServices.GetRequiredService<ConnectTunnel>().OnConnectionAsync(connection, next)));
            k.AddServerHeader = false;
            k.Limits.MaxConcurrentConnections = 4096;
            k.Limits.MaxRequestBodySize = 1 << 20; // pushes raise it to their declared size
            k.Limits.MaxRequestHeadersTotalSize = 32 * 1024;
            k.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(10);
            k.Limits.KeepAliveTimeout = TimeSpan.FromMinutes(2);
        });

        var identity = new NodeIdentity(data.NodeId, random.NextId().ToString("x16", System.Globalization.CultureInfo.InvariantCulture), options.OsVersion ?? OsVersionDetector.Detect(), NodeIdentity.BuildVersion);
        var sourceChoice = SourceChoice.ForThisMachine(settings.Sources.Sources);

        // Each layer registers its own services, bottom to top (docs/architecture.md). Hosted services start in this
        // order: the transport before everything that uses it from its first moment.
        builder.Services
            .AddSingleton(data).AddSingleton(data.Database).AddSingleton(data.Store)
            .AddPrimitives(options, identity, time, random)
            .AddSecurity(settings.Security, key)
            .AddTransport()
            .AddTransfer(settings.Transfer)
            .AddCluster(settings.Cluster)
            .AddSources(settings.Sources, sourceChoice)
            .AddServing(settings.Serving)
            .AddServerLink(settings.ServerLink)
            .AddUpdating(settings.Updating)
            .AddRedirect(settings.Redirect)
            .AddHttp(settings.Http)
            .AddApt(settings.Apt);

        var app = builder.Build();
        app.UseAptProxy();
        app.MapHttpEndpoints();

        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("PeerPatch.Node");
        var cluster = app.Services.GetRequiredService<ClusterState>();
        RecordElections(cluster, app.Services.GetRequiredService<NodeStats>(), app.Services.GetRequiredService<NodeEvents>());
        log.LogInformation(
            "node {PeerId} starting: role {Role}, server {Server}, os {Os}, data {DataDir}, udp {Port}, http {HttpPort}",
            identity.NodeId, cluster.Elects ? "elected" : cluster.Role.ToString(), cluster.ServerAddress ?? (cluster.IsServer ? "this node" : "to be elected"), identity.OsVersion, options.DataDir, options.Port, options.HttpPort);
        log.LogInformation(
            "data directory checked: {Temps} temp files removed, {Dropped} missing/wrong blobs dropped, {Orphans} unrecorded files removed; {Blobs} blobs ({Bytes} bytes) kept, cap {Cap} bytes",
            data.Report.TempFilesRemoved, data.Report.MissingOrWrongBlobsDropped, data.Report.OrphanFilesRemoved, data.Report.BlobsKept, data.Report.BytesKept, data.Store.CapacityBytes);
        if (NodeData.DiskRoom(options.DataDir, data.Store.Options) is { } room && room.Free < room.Reserve)
        {
            log.LogWarning(
                "data disk full: {Free} bytes free in {DataDir} (the store keeps {Reserve} free): serving the {Blobs} blobs held ({Bytes} bytes), but storing nothing new until space is freed",
                room.Free, options.DataDir, room.Reserve, data.Store.Count, data.Store.TotalBytes);
        }

        if (data.Report.RowsLeftOnFullDisk > 0)
        {
            log.LogWarning(
                "data disk full: {Rows} database deletes could not be recorded (their files are gone, so nothing serves them); they are made at the next start with room on the disk",
                data.Report.RowsLeftOnFullDisk);
        }

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

    private static void ConfigureLogging(WebApplicationBuilder builder, LoggingOptions options, string dataDir)
    {
        var file = options.LogFile switch
        {
            null => NodeLogging.DefaultFile(dataDir),
            "" => null,
            var path => Path.GetFullPath(path),
        };
        // preserveStaticLogger: this host's own logger instance, never the static Log.Logger (which the default sets and
        // then logs through): two hosts in one process (the in-process test nodes) would otherwise write each other's files.
        builder.Services.AddSerilog((_, lc) => NodeLogging.Configure(lc, options.LogLevel, file, SyslogPriorityEnricher.UnderSystemd), preserveStaticLogger: true);
    }
}
