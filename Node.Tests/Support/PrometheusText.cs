using System.Globalization;
using System.Text.RegularExpressions;

namespace PeerPatch.Node.Tests.Support;

/// <summary>One sample of the Prometheus text format: name, labels, value.</summary>
internal sealed record PromSample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

/// <summary>A small parser of the Prometheus text exposition format (samples only; comments skipped).</summary>
internal static partial class PrometheusText
{
    public static IReadOnlyList<PromSample> Parse(string text)
    {
        var samples = new List<PromSample>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var m = SampleLine().Match(line);
            Assert.True(m.Success, $"not a Prometheus sample line: {line}");
            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (Match l in Label().Matches(m.Groups["labels"].Value))
            {
                labels[l.Groups["k"].Value] = l.Groups["v"].Value;
            }

            samples.Add(new PromSample(m.Groups["name"].Value, labels, double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture)));
        }

        return samples;
    }

    /// <summary>The value of the one sample named <paramref name="name"/> whose labels include <paramref name="labels"/> ("k=v" pairs).</summary>
    public static double Value(this IReadOnlyList<PromSample> samples, string name, params string[] labels) =>
        samples.Single(s => s.Name == name && labels.All(l => s.Labels.GetValueOrDefault(l.Split('=')[0]) == l.Split('=')[1])).Value;

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})?\s+(?<value>\S+)(\s+\d+)?$""")]
    private static partial Regex SampleLine();

    [GeneratedRegex(""""(?<k>[a-zA-Z_][a-zA-Z0-9_]*)="(?<v>(?:[^"\\]|\\.)*)"""")]
    private static partial Regex Label();
}
