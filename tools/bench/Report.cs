using System.Globalization;
using System.Text;

namespace PeerPatch.Bench;

/// <summary>The results table, and its place in docs/benchmarks.md (between the bench markers; the rest is kept).</summary>
internal sealed class Report
{
    private const string Begin = "<!-- bench:begin (written by tools/bench/run.sh) -->";
    private const string End = "<!-- bench:end -->";
    private readonly List<Row> _rows = [];
    private readonly List<string> _notes = [];

    public void Note(string text) => _notes.Add(text);

    public void Add(string what, double ours, double reference, string unit, string referenceName, bool lowerIsBetter, string? goal, double? ratioGoal = null) =>
        _rows.Add(new Row(what, ours, reference, unit, referenceName, lowerIsBetter, goal, ratioGoal));

    public string Table()
    {
        var s = new StringBuilder();
        s.AppendLine("| scenario | PeerPatch | reference | ratio | goal | met |");
        s.AppendLine("| --- | --- | --- | --- | --- | --- |");
        foreach (var r in _rows)
        {
            var hasRef = !double.IsNaN(r.Reference);
            var ratio = hasRef ? r.Ours / r.Reference : double.NaN;
            var met = r.Goal is null ? "" : Met(r) ? "yes" : "**no**";
            s.AppendLine(CultureInfo.InvariantCulture, $"| {r.What} | {Format(r.Ours)} {r.Unit} | {(hasRef ? $"{Format(r.Reference)} {r.Unit} ({r.ReferenceName})" : "")} | {(hasRef ? ratio.ToString("0.00", CultureInfo.InvariantCulture) + "×" : "")} | {r.Goal} | {met} |");
        }

        return s.ToString();
    }

    public void Write(string path, int runs)
    {
        var machine = $"{Environment.ProcessorCount} cores, {Memory()} memory, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}";
        var section = new StringBuilder()
            .AppendLine(Begin)
            .AppendLine(CultureInfo.InvariantCulture, $"Run {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC on {machine}. Command: `tools/bench/run.sh` (medians of {runs} runs; each reference measured in the same run, interleaved).")
            .AppendLine()
            .Append(Table())
            .AppendLine()
            .AppendJoin('\n', _notes.Select(n => "- " + n))
            .AppendLine()
            .AppendLine(End)
            .ToString();
        var text = File.Exists(path) ? File.ReadAllText(path) : "# Benchmarks\n";
        var begin = text.IndexOf(Begin, StringComparison.Ordinal);
        var end = text.IndexOf(End, StringComparison.Ordinal);
        text = begin >= 0 && end > begin
            ? text[..begin] + section + text[(end + End.Length + 1)..]
            : text + "\n## Latest run\n\n" + section;
        File.WriteAllText(path, text);
    }

    private static bool Met(Row r) => r.RatioGoal is { } g
        ? r.Ours / r.Reference >= g
        : r.Goal!.StartsWith('<') || r.Goal.StartsWith('≤')
            ? r.What.Contains("growth", StringComparison.Ordinal) ? r.Ours - r.Reference <= 30 : r.Ours <= Number(r.Goal)
            : r.Ours >= Number(r.Goal);

    private static double Number(string goal) => double.Parse(new string(goal.Where(c => char.IsAsciiDigit(c) || c == '.').ToArray()), CultureInfo.InvariantCulture);

    private static string Format(double v) => v >= 1000 ? v.ToString("N0", CultureInfo.InvariantCulture) : v.ToString("0.0", CultureInfo.InvariantCulture);

    private static string Memory()
    {
        var line = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
        return $"{long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1048576.0:0} GiB";
    }

    private sealed record Row(string What, double Ours, double Reference, string Unit, string ReferenceName, bool LowerIsBetter, string? Goal, double? RatioGoal);
}
