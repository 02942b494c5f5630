using System.CommandLine;
using PeerPatch.Node.Apt;

namespace PeerPatch.Node.Cli;

/// <summary>`peerpatch apt enable|disable|status`: route this PC's apt through its PeerPatch node (see <see cref="AptDropIn"/>).</summary>
internal static class AptCommand
{
    public static Command Create()
    {
        var confDir = new Option<string>("--conf-dir") { Description = "apt's drop-in directory", DefaultValueFactory = _ => "/etc/apt/apt.conf.d" };
        var helperDir = new Option<string>("--helper-dir") { Description = "where the proxy-detect helper goes", DefaultValueFactory = _ => "/usr/local/lib/peerpatch" };
        var node = CliApp.NodeOption();

        var enable = new Command("enable", "Make apt fetch http:// repositories through this PC's node (directly when the node is down).") { confDir, helperDir, node };
        enable.SetAction(result =>
        {
            if (!Uri.TryCreate(result.GetValue(node), UriKind.Absolute, out var proxy) || proxy.Scheme != Uri.UriSchemeHttp)
            {
                Console.Error.WriteLine($"peerpatch: --node must be an http:// URL, not '{result.GetValue(node)}'");
                return 2;
            }

            return Guard(() =>
            {
                AptDropIn.Enable(result.GetValue(confDir)!, result.GetValue(helperDir)!, proxy);
                Console.WriteLine($"apt now uses {proxy.GetLeftPart(UriPartial.Authority)}/ for http:// repositories when it answers ({Path.Combine(result.GetValue(confDir)!, AptDropIn.DropInName)})");
            });
        });

        var disable = new Command("disable", "Remove PeerPatch's apt drop-in and helper.") { confDir, helperDir };
        disable.SetAction(result => Guard(() =>
            Console.WriteLine(AptDropIn.Disable(result.GetValue(confDir)!, result.GetValue(helperDir)!) ? "apt no longer uses PeerPatch" : "apt was not using PeerPatch")));

        var status = new Command("status", "Tell whether apt uses PeerPatch.") { confDir };
        status.SetAction(result =>
        {
            var path = Path.Combine(result.GetValue(confDir)!, AptDropIn.DropInName);
            var on = File.Exists(path);
            Console.WriteLine(on ? $"enabled: {path}" : "disabled");
            return on ? 0 : 1;
        });

        return new Command("apt", "Route this PC's apt through PeerPatch (apt proxy mode).") { enable, disable, status };
    }

    private static int Guard(Action action)
    {
        try
        {
            action();
            return 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            Console.Error.WriteLine($"peerpatch: {e.Message}");
            return 2;
        }
    }
}
