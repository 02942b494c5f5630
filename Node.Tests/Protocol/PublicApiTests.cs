using System.Reflection;
using System.Text;
using PeerPatch.Protocol;

namespace PeerPatch.Node.Tests.Protocol;

/// <summary>
/// The wire contract's public surface is reviewed like a schema: any change to it shows up here. To accept a
/// deliberate change, copy Protocol/PublicApi.received.txt (written next to the test output) over PublicApi.approved.txt.
/// </summary>
public sealed class PublicApiTests
{
    [Fact]
    public void ProtocolPublicApi_MatchesTheApprovedSnapshot()
    {
        var actual = Describe(typeof(WireCodec).Assembly);
        var approvedPath = Path.Combine(AppContext.BaseDirectory, "Protocol", "PublicApi.approved.txt");
        var approved = File.ReadAllText(approvedPath).ReplaceLineEndings("\n");
        if (approved != actual)
        {
            File.WriteAllText(Path.Combine(AppContext.BaseDirectory, "Protocol", "PublicApi.received.txt"), actual);
        }

        Assert.Equal(approved, actual);
    }

    private static string Describe(Assembly assembly)
    {
        var sb = new StringBuilder();
        foreach (var type in assembly.GetExportedTypes().OrderBy(t => t.FullName, StringComparer.Ordinal))
        {
            sb.Append(type.IsInterface ? "interface " : type.IsEnum ? "enum " : type.IsValueType ? "struct " : "class ").AppendLine(type.FullName);
            if (type.IsEnum)
            {
                foreach (var name in Enum.GetNames(type))
                {
                    sb.Append("  ").Append(name).Append(" = ").AppendLine(Convert.ToInt64(Enum.Parse(type, name), System.Globalization.CultureInfo.InvariantCulture).ToString(System.Globalization.CultureInfo.InvariantCulture));
                }

                continue;
            }

            var members = type.GetMembers(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly)
                .Where(m => m is not MethodInfo { IsSpecialName: true })
                .Select(m => "  " + m.MemberType + " " + m)
                .Order(StringComparer.Ordinal);
            foreach (var member in members)
            {
                sb.AppendLine(member);
            }

            foreach (var attribute in type.GetCustomAttributesData().Where(a => a.AttributeType.Name is "UnionAttribute").OrderBy(a => (int)a.ConstructorArguments[0].Value!))
            {
                sb.Append("  [Union(").Append(attribute.ConstructorArguments[0].Value).Append(", ").Append(((Type)attribute.ConstructorArguments[1].Value!).Name).AppendLine(")]");
            }

            foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly))
            {
                if (property.GetCustomAttributesData().FirstOrDefault(a => a.AttributeType.Name == "KeyAttribute") is { } key)
                {
                    sb.Append("  [Key(").Append(key.ConstructorArguments[0].Value).Append(")] ").AppendLine(property.Name);
                }
            }
        }

        return sb.ToString();
    }
}
