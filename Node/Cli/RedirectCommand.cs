using System.CommandLine;
using System.Net;
using System.Text.Json;
using PeerPatch.Node.Redirect;

namespace PeerPatch.Node.Cli;

/// <summary>
/// `peerpatch redirect enable|disable|status`: the managed block in the hosts file that sends an update domain to
/// PeerPatch (claim 4). Only plain-HTTP sources benefit: HTTPS and sources reached by IP address bypass it.
/// </summary>
internal static class RedirectCommand
{
    public static Command Create()
    {
        var hosts = new Option<string>("--hosts-file") { Description = "the hosts file", DefaultValueFactory = _ => HostsFile.DefaultPath };
        var domain = new Option<string[]>("--domain") { Description = "an update domain (plain HTTP); repeatable", AllowMultipleArgumentsPerToken = true };
        var to = new Option<string>("--to")
        {
            Description = "local: this PC's node answers (default; works even when the LAN server is gone); server: the LAN server's address; or an IP address",
            DefaultValueFactory = _ => "local",
        };
        var node = CliApp.NodeOption();

        var enable = new Command("enable", "Send DOMAIN to PeerPatch through the hosts file; the node answers it as a transparent cache.") { domain, to, hosts, node };
        enable.SetAction(async (result, ct) =>
        {
            var domains = result.GetValue(domain) ?? [];
            if (domains.Length == 0)
            {
                await Console.Error.WriteLineAsync("peerpatch: give at least one --domain").ConfigureAwait(false);
                return 2;
            }

            if (domains.FirstOrDefault(d => !HostsFile.IsDomain(d)) is { } bad)
            {
                await Console.Error.WriteLineAsync($"peerpatch: '{bad}' is not a domain name").ConfigureAwait(false);
                return 2;
            }

            var address = await AddressAsync(result.GetValue(to)!, result.GetValue(node)!, ct).ConfigureAwait(false);
            if (address is null)
            {
                return 2;
            }

            return Edit(result.GetValue(hosts)!, entries =>
                [.. entries.Where(e => !domains.Contains(e.Domain, StringComparer.OrdinalIgnoreCase)), .. domains.Select(d => (address.ToString(), d.ToLowerInvariant()))]);
        });

        var disable = new Command("disable", "Remove the redirect of DOMAIN (of every domain without --domain), restoring the hosts file.") { domain, hosts };
        disable.SetAction(result =>
        {
            var domains = result.GetValue(domain) ?? [];
            return Edit(result.GetValue(hosts)!, entries => domains.Length == 0 ? [] : [.. entries.Where(e => !domains.Contains(e.Domain, StringComparer.OrdinalIgnoreCase))]);
        });

        var status = new Command("status", "List the redirected domains (exit 1 when there are none).") { hosts };
        status.SetAction(result =>
        {
            var entries = HostsFile.Entries(HostsFile.Read(result.GetValue(hosts)!));
            foreach (var (address, d) in entries)
            {
                Console.WriteLine($"{d} -> {address}");
            }

            if (entries.Count == 0)
            {
                Console.WriteLine("no domain is redirected");
            }

            return entries.Count > 0 ? 0 : 1;
        });

        return new Command("redirect", "Redirect an update domain to PeerPatch through the hosts file (transparent cache).") { enable, disable, status };
    }

    private static int Edit(string path, Func<IReadOnlyList<(string Address, string Domain)>, IReadOnlyList<(string Address, string Domain)>> change)
    {
        try
        {
            var content = HostsFile.Read(path);
            var entries = change(HostsFile.Entries(content));
            var updated = HostsFile.WithEntries(content, entries);
            if (updated != content)
            {
                HostsFile.Write(path, updated);
            }

            Console.WriteLine(entries.Count == 0 ? $"{path}: no PeerPatch redirect" : $"{path}: {string.Join(", ", entries.Select(e => $"{e.Domain} -> {e.Address}"))}");
            return 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"peerpatch: {e.Message}");
            return 2;
        }
    }

    private static async Task<IPAddress?> AddressAsync(string to, string node, CancellationToken ct)
    {
        if (to == "local")
        {
            return IPAddress.Loopback;
        }

        if (IPAddress.TryParse(to, out var literal))
        {
            return literal;
        }

        if (to != "server")
        {
            await Console.Error.WriteLineAsync($"peerpatch: --to must be local, server or an IP address, not '{to}'").ConfigureAwait(false);
            return null;
        }

        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            using var doc = JsonDocument.Parse(await http.GetStringAsync(new Uri(new Uri(node.TrimEnd('/') + "/"), "v1/status"), ct).ConfigureAwait(false));
            var root = doc.RootElement;
            if (root.GetProperty("role").GetString() == "server")
            {
                return IPAddress.Loopback;
            }

            var server = root.GetProperty("server").GetString();
            if (server is not null && IPEndPoint.TryParse(server, out var ep))
            {
                return ep.Address;
            }

            await Console.Error.WriteLineAsync("peerpatch: the node knows no LAN server now; use --to local").ConfigureAwait(false);
            return null;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException or UriFormatException)
        {
            await Console.Error.WriteLineAsync($"peerpatch: cannot ask the node for its server: {e.Message}").ConfigureAwait(false);
            return null;
        }
    }
}
