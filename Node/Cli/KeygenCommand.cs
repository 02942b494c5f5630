using System.CommandLine;
using PeerPatch.Node.Security;
using PeerPatch.Protocol.Security;

namespace PeerPatch.Node.Cli;

/// <summary>
/// `peerpatch keygen`: makes a cluster key (32 random bytes) and writes it with mode 0600, by default to the path
/// every node reads at start. Copy that one file to every PC and restart the nodes: they form one keyed cluster.
/// </summary>
internal static class KeygenCommand
{
    public static Command Create()
    {
        var output = new Option<string?>("--out") { Description = $"where to write the key (default {ClusterKeyFile.DefaultPath}); - prints it" };
        var force = new Option<bool>("--force") { Description = "replace an existing key file (every node must then get the new one)" };
        var command = new Command("keygen", "Make a cluster key: only nodes holding it join this LAN's cluster.") { output, force };
        command.SetAction(async (result, ct) =>
        {
            var key = ClusterKey.Generate();
            var path = result.GetValue(output) ?? ClusterKeyFile.DefaultPath;
            if (path == "-")
            {
                await Console.Out.WriteLineAsync(key.Export()).ConfigureAwait(false);
                return 0;
            }

            try
            {
                ClusterKeyFile.Write(path, key, result.GetValue(force));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                await Console.Error.WriteLineAsync($"peerpatch: {e.Message}").ConfigureAwait(false);
                return 2;
            }

            await Console.Out.WriteLineAsync($"wrote {key} to {path} (mode 0600).").ConfigureAwait(false);
            await Console.Out.WriteLineAsync($"Copy this file to {ClusterKeyFile.DefaultPath} on every PC (mode 0600) and restart peerpatch there.").ConfigureAwait(false);
            return 0;
        });
        return command;
    }
}
