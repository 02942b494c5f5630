using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Mvc;
using PeerPatch.Protocol.Status;

namespace PeerPatch.Node.Http;

/// <summary>
/// What the endpoints' results serialize through the HTTP JSON options, source-generated (Native AOT has no reflection
/// fallback, and <c>JsonSerializerIsReflectionEnabledByDefault</c> is off in every build): the status documents
/// (<see cref="StatusJsonContext"/>) and the problem details of every 4xx/5xx (<c>Results.Problem</c>).
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(ProblemDetails))]
internal sealed partial class HttpJson : JsonSerializerContext
{
    /// <summary>Puts the endpoints' metadata first in <paramref name="options"/>' resolver chain.</summary>
    public static void Configure(JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.TypeInfoResolverChain.Insert(0, StatusJsonContext.Default);
        options.TypeInfoResolverChain.Insert(1, Default);
    }
}
