using System.CommandLine;

namespace PeerPatch.Node.Cli;

/// <summary>The `peerpatch` command line: run, update, status.</summary>
internal static class CliApp
{
    public const string DefaultNode = "http://127.0.0.1:47471";

    public static Task<int> RunAsync(string[] args)
    {
        var root = new RootCommand("PeerPatch: LAN-shared OS patches. Every PC runs one node; the nodes share each download.")
        {
            RunCommand.Create(),
            UpdateCommand.Create(),
            StatusCommand.Create(),
            AptCommand.Create(),
            RedirectCommand.Create(),
            ServiceCommand.Create(),
            KeygenCommand.Create(),
            PolicyCommand.Create(),
        };
        return root.Parse(args).InvokeAsync();
    }

    public static Option<string> NodeOption() => new("--node")
    {
        Description = "HTTP address of the node to talk to",
        DefaultValueFactory = _ => DefaultNode,
    };

    public static Option<string?> KeyFileOption() => new("--cluster-key-file")
    {
        Description = $"the cluster key that signs requests to a keyed node (default {Security.ClusterKeyFile.DefaultPath} when it exists)",
    };

    public static Option<bool> JsonOption(string what) => new("--json") { Description = what };
}
