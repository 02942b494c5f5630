using System.Reflection;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace PeerPatch.Node.Tests.Support;

/// <summary>
/// The executables that ship (Native AOT, linux-x64) and what their publish leaves behind. tools/test.sh publishes them
/// (tools/package/publish.sh linux-x64) while it runs the tests that do not need them, then runs the ones that do:
/// every class that does carries <see cref="RunsPublishedAttribute"/>. During the first part tools/test.sh sets
/// <see cref="NotYetVariable"/>, and a test that reaches for the artifacts without the attribute fails at once, with
/// that reason, whether or not the publish has finished by then.
/// </summary>
internal static class Published
{
    public const string NotYetVariable = "PEERPATCH_TESTS_BEFORE_PUBLISH";

    /// <summary>artifacts/publish/linux-x64/</summary>
    public static readonly string Dir =
        typeof(Published).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "PublishDir").Value!;

    /// <summary><paramref name="path"/>, a file or directory the linux-x64 publish writes, or a failure that says why it is missing.</summary>
    public static string Require(string path)
    {
        if (Environment.GetEnvironmentVariable(NotYetVariable) == "1")
        {
            throw new InvalidOperationException(
                $"{path}: this test uses the published executables but its class has no [RunsPublished], so tools/test.sh runs it before the publish has finished");
        }

        return File.Exists(path) || Directory.Exists(path)
            ? path
            : throw new FileNotFoundException($"{path} is missing: real-process tests run the published executables; run tools/package/publish.sh linux-x64 (tools/test.sh does) after the build", path);
    }
}

/// <summary>
/// Marks a test class that runs the published executables or reads what their publish wrote (trait Needs=Published):
/// tools/test.sh runs these after the publish, and the others while it runs.
/// </summary>
[TraitDiscoverer("PeerPatch.Node.Tests.Support.RunsPublishedDiscoverer", "PeerPatch.Node.Tests")]
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class RunsPublishedAttribute : Attribute, ITraitAttribute;

/// <summary>The trait of <see cref="RunsPublishedAttribute"/>: Needs=Published.</summary>
public sealed class RunsPublishedDiscoverer : ITraitDiscoverer
{
    public IEnumerable<KeyValuePair<string, string>> GetTraits(IAttributeInfo traitAttribute) => [new("Needs", "Published")];
}
