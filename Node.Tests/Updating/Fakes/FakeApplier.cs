using System.Collections.Concurrent;
using System.Security.Cryptography;
using PeerPatch.Node.Sources;
using PeerPatch.Node.Updating;

namespace PeerPatch.Node.Tests.Updating.Fakes;

/// <summary>Applies nothing: records each patch with the SHA-256 of the file it was given, answers as told.</summary>
internal sealed class FakeApplier : IPatchApplier
{
    public ConcurrentQueue<(string Patch, string FileSha256)> Applied { get; } = new();

    public string? Error { get; set; }

    public async Task<(bool Ok, string? Error)> ApplyAsync(PatchSpec patch, string file, CancellationToken ct)
    {
        await using var stream = File.OpenRead(file);
        Applied.Enqueue((patch.Name, Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, ct))));
        return (Error is null, Error);
    }
}
