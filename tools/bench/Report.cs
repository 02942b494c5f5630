using System.Globalization;
using System.Text;

namespace PeerPatch.Bench;

/// <summary>The results table, and its place in docs/benchmarks.md (between the bench markers; the rest is kept).</summary>
/// <param name="markers">The markers' name: "bench" for the main table; a scenario that keeps its own table names its own.</param>
internal sealed class Report(string markers = "bench")
{
    private readonly string _begin = $"<!-- {markers}:begin (written by tools/bench/run.sh) -->";
    private readonly string _end = $"<!-- {markers}:end -->";
    private readonly List<Row> _rows = [];
    private readonly List<string> _notes = [];

    public void Note(string text) => _notes.Add(text);

    public IReadOnlyList<string> Notes => _notes;

    /// <summary>A figure; <paramref name="met"/> decides the goal from (ours, reference) when there is one.</summary>
    public void Add(string what, double ours, double reference, string unit, string referenceName, string? goal = null, Func<double, double, bool>? met = null) =>
        _rows.Add(new Row(what, ours, reference, unit, referenceName, goal, met));

    public string Table()
    {
        var s = new StringBuilder();
        s.AppendLine("| scenario | PeerPatch | reference | ratio | goal | met |");
        s.AppendLine("| --- | --- | --- | --- | --- | --- |");
        foreach (var r in _rows)
        {
            var hasRef = !double.IsNaN(r.Reference);
            var ratio = hasRef ? r.Ours / r.Reference : double.NaN;
            var met = r.Met is null ? "" : r.Met(r.Ours, r.Reference) ? "yes" : "**no**";
            s.AppendLine(CultureInfo.InvariantCulture, $"| {r.What} | {Format(r.Ours)} {r.Unit} | {(hasRef ? $"{Format(r.Reference)} {r.Unit} ({r.ReferenceName})" : "")} | {(hasRef ? ratio.ToString("0.00", CultureInfo.InvariantCulture) + "×" : "")} | {r.Goal} | {met} |");
        }

        return s.ToString();
    }

    /// <param name="command">The command line the section names.</param>
    public void Write(string path, int runs, string command = "tools/bench/run.sh")
    {
        var machine = $"{Environment.ProcessorCount} cores, {Memory()} memory, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}";
        var section = new StringBuilder()
            .AppendLine(_begin)
            .AppendLine(CultureInfo.InvariantCulture, $"Run {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC on {machine}. Command: `{command}` (medians of {runs} runs; each reference measured in the same run, interleaved).")
            .AppendLine()
            .Append(Table())
            .AppendLine()
            .AppendJoin('\n', _notes.Select(n => "- " + n))
            .AppendLine()
            .AppendLine(_end)
            .ToString();
        var text = File.Exists(path) ? File.ReadAllText(path) : "# Benchmarks\n";
        var begin = text.IndexOf(_begin, StringComparison.Ordinal);
        var end = text.IndexOf(_end, StringComparison.Ordinal);
        text = begin >= 0 && end > begin
            ? text[..begin] + section + text[(end + _end.Length + 1)..]
            : text + "\n## Latest run\n\n" + section;
        File.WriteAllText(path, text);
    }

    private static string Format(double v) => v switch
    {
        >= 1000 => v.ToString("N0", CultureInfo.InvariantCulture),
        < 10 => v.ToString("0.0##", CultureInfo.InvariantCulture), // ratios such as internet / unique bytes need the third digit
        _ => v.ToString("0.0", CultureInfo.InvariantCulture),
    };

    private static string Memory()
    {
        var line = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
        return $"{long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1048576.0:0} GiB";
    }

    private sealed record Row(string What, double Ours, double Reference, string Unit, string ReferenceName, string? Goal, Func<double, double, bool>? Met);
}
