using System.CommandLine;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using PeerPatch.Node.Cluster;
using PeerPatch.Node.Hosting;
using PeerPatch.Node.Primitives;
using PeerPatch.Node.Sources;
using PeerPatch.Node.Updating;
using PeerPatch.Storage;

namespace PeerPatch.Node.Cli;

/// <summary>`peerpatch run`: the daemon. Options override the config file and PEERPATCH_* variables.</summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var config = new Option<string?>("--config") { Description = $"JSON config file, instead of {CoreOptions.DefaultConfigFile()}" };
        var data = new Option<string?>("--data") { Description = $"data directory (default {CoreOptions.DefaultDataDir()})" };
        var port = new Option<int?>("--port") { Description = "LiteNetLib UDP port (default 47470)" };
        var httpPort = new Option<int?>("--http-port") { Description = "HTTP port (default 47471)" };
        var bind = new Option<string?>("--bind") { Description = "address to bind (default 0.0.0.0)" };
        var role = new Option<string?>("--role") { Description = "auto|server|client (default auto)" };
        role.AcceptOnlyFromAmong("auto", "server", "client");
        var server = new Option<string?>("--server") { Description = "the LAN server as HOST:UDPPORT, instead of electing one" };
        var source = new Option<string[]>("--source") { Description = "patch source: manifest:URL (URL may contain {os}); repeatable", AllowMultipleArgumentsPerToken = false };
        var os = new Option<string?>("--os-version") { Description = "OS version key (default detected, e.g. debian-12-amd64)" };
        var priority = new Option<int?>("--priority") { Description = "election priority, higher wins (default: free cache space in GiB)" };
        var mdnsInterface = new Option<string[]>("--mdns-interface") { Description = "interface for mDNS discovery; repeatable (default: every multicast-capable one)" };
        var keyFile = new Option<string?>("--cluster-key-file") { Description = $"the LAN's cluster key (from `peerpatch keygen`); default {Security.ClusterKeyFile.DefaultPath} when it exists; none = open LAN" };
        var interval = new Option<string?>("--update-interval") { Description = "time between update passes, e.g. 6h; 0 = only on demand (default 6h)" };

        var command = new Command("run", "Run a node (the daemon).") { config, data, port, httpPort, bind, role, server, source, os, interval, priority, mdnsInterface, keyFile };
        command.SetAction(async (result, ct) =>
        {
            var overrides = new Dictionary<string, string?>();
            void Set(string key, string? value)
            {
                if (value is not null)
                {
                    overrides[key] = value;
                }
            }

            Set(nameof(CoreOptions.DataDir), result.GetValue(data));
            Set(nameof(CoreOptions.Port), result.GetValue(port)?.ToString(CultureInfo.InvariantCulture));
            Set(nameof(CoreOptions.HttpPort), result.GetValue(httpPort)?.ToString(CultureInfo.InvariantCulture));
            Set(nameof(CoreOptions.Bind), result.GetValue(bind));
            Set(nameof(ClusterOptions.Role), result.GetValue(role));
            Set(nameof(ClusterOptions.Server), result.GetValue(server));
            Set(nameof(CoreOptions.OsVersion), result.GetValue(os));
            Set(nameof(ClusterOptions.Priority), result.GetValue(priority)?.ToString(CultureInfo.InvariantCulture));
            Set(nameof(Security.SecurityOptions.ClusterKeyFile), result.GetValue(keyFile));
            var interfaces = result.GetValue(mdnsInterface) ?? [];
            for (var i = 0; i < interfaces.Length; i++)
            {
                overrides[$"{nameof(ClusterOptions.MdnsInterfaces)}:{i}"] = interfaces[i];
            }

            var sources = result.GetValue(source) ?? [];
            for (var i = 0; i < sources.Length; i++)
            {
                overrides[$"{nameof(SourcesOptions.Sources)}:{i}"] = sources[i];
            }

            if (result.GetValue(interval) is { } text)
            {
                if (!Duration.TryParse(text, out var span))
                {
                    await Console.Error.WriteLineAsync($"peerpatch: --update-interval '{text}' is not a duration (examples: 6h, 30m, 0)").ConfigureAwait(false);
                    return 2;
                }

                overrides[nameof(UpdatingOptions.UpdateInterval)] = span.ToString("c", CultureInfo.InvariantCulture);
            }

            WebApplication app;
            try
            {
                // --config replaces the system-wide file; without it that file is read when present.
                var builder = new ConfigurationBuilder();
                if (result.GetValue(config) is { } file)
                {
                    builder.AddJsonFile(Path.GetFullPath(file), optional: false, reloadOnChange: false);
                }
                else
                {
                    builder.AddJsonFile(CoreOptions.DefaultConfigFile(), optional: true, reloadOnChange: false);
                }

                builder.AddEnvironmentVariables("PEERPATCH_").AddInMemoryCollection(overrides);
                app = NodeHost.Build(builder.Build());
            }
            catch (Exception e) when (e is OptionsValidationException or DataDirectoryInUseException or DataDiskFullException or InvalidDataException
                                       or FileNotFoundException or InvalidOperationException or UnauthorizedAccessException or FormatException)
            {
                await Console.Error.WriteLineAsync($"peerpatch: {Protocol.Text.LogText.Sanitize(e.Message)}").ConfigureAwait(false);
                return 2;
            }

            await using (app.ConfigureAwait(false))
            {
                try
                {
                    await app.StartAsync(ct).ConfigureAwait(false);
                    await app.WaitForShutdownAsync(ct).ConfigureAwait(false);
                }
                catch (IOException e) when (e.InnerException is System.Net.Sockets.SocketException || e.Message.Contains("address", StringComparison.OrdinalIgnoreCase))
                {
                    await Console.Error.WriteLineAsync($"peerpatch: {Protocol.Text.LogText.Sanitize(e.Message)}").ConfigureAwait(false);
                    return 2;
                }
                catch (InvalidOperationException e)
                {
                    await Console.Error.WriteLineAsync($"peerpatch: {Protocol.Text.LogText.Sanitize(e.Message)}").ConfigureAwait(false);
                    return 2;
                }
            }

            return 0;
        });
        return command;
    }
}
