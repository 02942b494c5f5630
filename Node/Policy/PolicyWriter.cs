using System.Globalization;
using System.Text.Json;

namespace PeerPatch.Node.Policy;

/// <summary>Writes a <see cref="PolicyDocument"/> in the admin's format (what <see cref="PolicyParser"/> reads back).</summary>
internal static class PolicyWriter
{
    public static void Write(Utf8JsonWriter writer, PolicyDocument document)
    {
        writer.WriteStartObject();
        writer.WriteStartObject("rings");
        writer.WriteStartObject("ring0");
        Strings(writer, "nodes", document.Rings.Nodes);
        Strings(writer, "hostnames", document.Rings.Hostnames);
        Strings(writer, "ringSettings", document.Rings.RingSettings);
        writer.WriteEndObject();
        writer.WriteString("delay", document.Rings.Delay.ToString("c", CultureInfo.InvariantCulture));
        writer.WriteEndObject();
        Rules(writer, "approved", document.Approved);
        Rules(writer, "held", document.Held);
        writer.WriteStartObject("internet");
        writer.WriteNumber("rateCap", document.Internet.RateCapBytesPerSecond);
        Strings(writer, "windows", document.Internet.Windows.Select(w => w.ToString()).ToList());
        if (document.Internet.Urgent is { } urgent)
        {
            writer.WriteString("urgent", urgent);
        }

        writer.WriteNumber("dailyQuota", document.Internet.DailyQuotaBytes);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    private static void Strings(Utf8JsonWriter writer, string name, IReadOnlyList<string> values)
    {
        writer.WriteStartArray(name);
        foreach (var value in values)
        {
            writer.WriteStringValue(value);
        }

        writer.WriteEndArray();
    }

    private static void Rules(Utf8JsonWriter writer, string name, IReadOnlyList<PatchRule> rules)
    {
        writer.WriteStartArray(name);
        foreach (var rule in rules)
        {
            writer.WriteStartObject();
            writer.WriteString("patch", rule.Patch);
            if (rule.Os is { } os)
            {
                writer.WriteString("os", os);
            }

            writer.WriteEndObject();
        }

        writer.WriteEndArray();
    }
}
