using System.Globalization;
using System.Text.Json;

namespace PeerPatch.Node.Policy;

/// <summary>
/// Reads a policy document strictly: unknown or duplicate fields, wrong types, bad times, sizes or durations, and
/// (given what the server knows) ring entries or an urgent pattern matching nothing, are errors; every problem is
/// listed, never only the first. Expected failures are a result, not an exception: any input, however malformed,
/// ends in <c>false</c> with reasons.
/// </summary>
internal static class PolicyParser
{
    /// <summary>Largest policy document accepted.</summary>
    public const int MaxBytes = 64 * 1024;

    /// <summary>Most entries in any one list.</summary>
    public const int MaxEntries = 1000;

    /// <summary>Longest string in a document (a glob, an id).</summary>
    public const int MaxString = 256;

    /// <summary>Longest ring delay.</summary>
    public static readonly TimeSpan MaxDelay = TimeSpan.FromDays(365);

    private static readonly string[] TopFields = ["rings", "approved", "held", "internet"];
    private static readonly string[] RingFields = ["ring0", "delay"];
    private static readonly string[] Ring0Fields = ["nodes", "hostnames", "ringSettings"];
    private static readonly string[] RuleFields = ["patch", "os"];
    private static readonly string[] InternetFields = ["rateCap", "windows", "urgent", "dailyQuota"];

    public static bool TryParse(ReadOnlySpan<byte> utf8, PolicyKnown? known, out PolicyDocument? document, out IReadOnlyList<string> errors)
    {
        document = null;
        var problems = new List<string>();
        errors = problems;
        if (utf8.Length > MaxBytes)
        {
            problems.Add($"the policy is {utf8.Length} bytes; at most {MaxBytes} are accepted");
            return false;
        }

        if (!System.Text.Unicode.Utf8.IsValid(utf8))
        {
            problems.Add("the policy is not valid UTF-8 text");
            return false;
        }

        JsonDocument json;
        try
        {
            json = JsonDocument.Parse(utf8.ToArray(), new JsonDocumentOptions { MaxDepth = 8, AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException e)
        {
            problems.Add($"not valid JSON: {e.Message}");
            return false;
        }

        using (json)
        {
            try
            {
                document = Read(json.RootElement, problems);
            }
            catch (InvalidOperationException e)
            {
                problems.Add($"unreadable: {e.Message}"); // a belt: every shape is checked before it is read
            }
        }

        if (document is not null && known is not null)
        {
            CheckAgainst(document, known, problems);
        }

        if (problems.Count > 0)
        {
            document = null;
            return false;
        }

        return true;
    }

    /// <summary>The document inside an element (used for a stored envelope's "policy"); null with problems when bad.</summary>
    internal static PolicyDocument? Read(JsonElement root, List<string> problems)
    {
        if (!Fields(root, "the policy", TopFields, problems))
        {
            return null;
        }

        var rings = RingPolicy.None;
        if (root.TryGetProperty("rings", out var r) && Fields(r, "rings", RingFields, problems))
        {
            var (nodes, hosts, settings) = (Array.Empty<string>() as IReadOnlyList<string>, Array.Empty<string>() as IReadOnlyList<string>, Array.Empty<string>() as IReadOnlyList<string>);
            if (r.TryGetProperty("ring0", out var r0) && Fields(r0, "rings.ring0", Ring0Fields, problems))
            {
                nodes = Strings(r0, "nodes", "rings.ring0.nodes", problems);
                hosts = Strings(r0, "hostnames", "rings.ring0.hostnames", problems);
                settings = Strings(r0, "ringSettings", "rings.ring0.ringSettings", problems);
            }

            var delay = RingPolicy.DefaultDelay;
            if (r.TryGetProperty("delay", out var d))
            {
                if (d.ValueKind != JsonValueKind.String || !TryDuration(d.GetString()!, out delay))
                {
                    problems.Add($"rings.delay: {Show(d)} is not a duration like \"24h\", \"90m\", \"2d\" or \"1.12:00:00\" (0 to {MaxDelay.TotalDays:0} days)");
                    delay = RingPolicy.DefaultDelay;
                }
            }

            rings = new RingPolicy(nodes, hosts, settings, delay);
        }

        var approved = Rules(root, "approved", problems);
        var held = Rules(root, "held", problems);
        var internet = InternetPolicy.Unlimited;
        if (root.TryGetProperty("internet", out var i) && Fields(i, "internet", InternetFields, problems))
        {
            long cap = 0, quota = 0;
            if (i.TryGetProperty("rateCap", out var c) && !TrySize(c, rate: true, out cap))
            {
                problems.Add($"internet.rateCap: {Show(c)} is not a rate like 2000000, \"2 MB/s\" or \"500 KiB/s\"");
            }

            if (i.TryGetProperty("dailyQuota", out var q) && !TrySize(q, rate: false, out quota))
            {
                problems.Add($"internet.dailyQuota: {Show(q)} is not a size like 10000000000, \"10 GB\" or \"512 MiB\"");
            }

            var windows = new List<DownloadWindow>();
            foreach (var w in Strings(i, "windows", "internet.windows", problems))
            {
                if (DownloadWindow.TryParse(w, out var window))
                {
                    windows.Add(window);
                }
                else
                {
                    problems.Add($"internet.windows: \"{Clip(w)}\" is not a window like \"19:00-07:00\" (24-hour HH:mm, start and end differ)");
                }
            }

            string? urgent = null;
            if (i.TryGetProperty("urgent", out var u))
            {
                urgent = u.ValueKind == JsonValueKind.String ? u.GetString() : null;
                if (urgent is null || !IsPattern(urgent))
                {
                    problems.Add($"internet.urgent: {Show(u)} is not a patch-name glob (1 to {MaxString} printable characters)");
                    urgent = null;
                }
            }

            internet = new InternetPolicy(cap, windows, urgent, quota);
        }

        return new PolicyDocument(rings, approved, held, internet);
    }

    private static void CheckAgainst(PolicyDocument document, PolicyKnown known, List<string> problems)
    {
        foreach (var id in document.Rings.Nodes.Where(id => !known.NodeIds.Contains(id, StringComparer.Ordinal)))
        {
            problems.Add($"rings.ring0.nodes: \"{Clip(id)}\" is none of the {known.NodeIds.Count} node ids this server has seen");
        }

        foreach (var host in document.Rings.Hostnames.Where(h => !known.Hostnames.Any(k => Glob.Matches(h, k, ignoreCase: true))))
        {
            problems.Add($"rings.ring0.hostnames: \"{Clip(host)}\" matches none of the {known.Hostnames.Count} hostnames this server has seen");
        }

        foreach (var ring in document.Rings.RingSettings.Where(s => !known.RingSettings.Contains(s, StringComparer.Ordinal)))
        {
            problems.Add($"rings.ring0.ringSettings: \"{Clip(ring)}\" is no node's Ring setting ({known.RingSettings.Count} values seen: {string.Join(", ", known.RingSettings.Take(10))})");
        }

        if (document.Internet.Urgent is { } urgent && !known.PatchNames.Any(n => Glob.Matches(urgent, n, ignoreCase: false)))
        {
            problems.Add($"internet.urgent: \"{Clip(urgent)}\" matches none of the {known.PatchNames.Count} patch names this server knows");
        }
    }

    /// <summary>True when <paramref name="element"/> is an object (to be read further); lists its unknown and repeated fields as problems.</summary>
    private static bool Fields(JsonElement element, string where, string[] allowed, List<string> problems)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            problems.Add($"{where}: expected an object, found {element.ValueKind.ToString().ToLowerInvariant()}");
            return false;
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in element.EnumerateObject())
        {
            if (!seen.Add(property.Name))
            {
                problems.Add($"{where}: \"{Clip(property.Name)}\" appears twice");
            }
            else if (!allowed.Contains(property.Name, StringComparer.Ordinal))
            {
                problems.Add($"{where}: unknown field \"{Clip(property.Name)}\" (known: {string.Join(", ", allowed)})");
            }
        }

        return true;
    }

    private static IReadOnlyList<string> Strings(JsonElement parent, string name, string where, List<string> problems)
    {
        if (!parent.TryGetProperty(name, out var array))
        {
            return [];
        }

        if (array.ValueKind != JsonValueKind.Array)
        {
            problems.Add($"{where}: expected a list of strings, found {array.ValueKind.ToString().ToLowerInvariant()}");
            return [];
        }

        if (array.GetArrayLength() > MaxEntries)
        {
            problems.Add($"{where}: {array.GetArrayLength()} entries; at most {MaxEntries}");
            return [];
        }

        var list = new List<string>();
        var index = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String || !IsPattern(item.GetString()!))
            {
                problems.Add($"{where}[{index}]: {Show(item)} is not a non-empty string of at most {MaxString} printable characters");
            }
            else if (list.Contains(item.GetString()!, StringComparer.Ordinal))
            {
                problems.Add($"{where}[{index}]: \"{Clip(item.GetString()!)}\" is listed twice");
            }
            else
            {
                list.Add(item.GetString()!);
            }

            index++;
        }

        return list;
    }

    private static IReadOnlyList<PatchRule> Rules(JsonElement root, string name, List<string> problems)
    {
        if (!root.TryGetProperty(name, out var array))
        {
            return [];
        }

        if (array.ValueKind != JsonValueKind.Array || array.GetArrayLength() > MaxEntries)
        {
            problems.Add($"{name}: expected a list of at most {MaxEntries} {{\"patch\": ..., \"os\": ...}} objects");
            return [];
        }

        var rules = new List<PatchRule>();
        var index = 0;
        foreach (var item in array.EnumerateArray())
        {
            var where = $"{name}[{index++}]";
            if (!Fields(item, where, RuleFields, problems))
            {
                continue;
            }

            var patch = item.TryGetProperty("patch", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;
            if (patch is null || !IsPattern(patch))
            {
                problems.Add($"{where}.patch: required, a patch name or glob of at most {MaxString} printable characters");
                continue;
            }

            string? os = null;
            if (item.TryGetProperty("os", out var o))
            {
                os = o.ValueKind == JsonValueKind.String ? o.GetString() : null;
                if (os is null || !Protocol.WireFormat.IsOsVersion(os))
                {
                    problems.Add($"{where}.os: {Show(o)} is not an OS key like \"debian-12-amd64\"");
                    continue;
                }
            }

            rules.Add(new PatchRule(patch, os));
        }

        return rules;
    }

    internal static bool TryDuration(string text, out TimeSpan value)
    {
        value = default;
        text = text.Trim();
        if (text.Length is 0 or > 32)
        {
            return false;
        }

        var unit = text[^1];
        var factor = unit switch { 's' => 1.0, 'm' => 60.0, 'h' => 3600.0, 'd' => 86400.0, _ => 0 };
        if (factor > 0 && double.TryParse(text[..^1], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var n) && double.IsFinite(n))
        {
            if (n * factor > MaxDelay.TotalSeconds)
            {
                return false;
            }

            value = TimeSpan.FromSeconds(n * factor);
            return true;
        }

        return TimeSpan.TryParseExact(text, "c", CultureInfo.InvariantCulture, out value) && value >= TimeSpan.Zero && value <= MaxDelay;
    }

    /// <summary>A byte count: a non-negative integer, or "N unit" (B, KB, MB, GB, TB decimal; KiB, MiB, GiB, TiB binary; rates end in "/s").</summary>
    internal static bool TrySize(JsonElement element, bool rate, out long bytes)
    {
        bytes = 0;
        if (element.ValueKind == JsonValueKind.Number)
        {
            return element.TryGetInt64(out bytes) && bytes >= 0;
        }

        if (element.ValueKind != JsonValueKind.String)
        {
            return false;
        }

        var text = element.GetString()!.Trim();
        if (rate)
        {
            if (!text.EndsWith("/s", StringComparison.Ordinal))
            {
                return false;
            }

            text = text[..^2];
        }

        var split = 0;
        while (split < text.Length && (char.IsAsciiDigit(text[split]) || text[split] == '.'))
        {
            split++;
        }

        var unit = text[split..].Trim();
        double multiplier = unit switch
        {
            "B" => 1, "KB" => 1e3, "MB" => 1e6, "GB" => 1e9, "TB" => 1e12,
            "KiB" => 1L << 10, "MiB" => 1L << 20, "GiB" => 1L << 30, "TiB" => 1L << 40,
            _ => 0,
        };
        if (split == 0 || multiplier == 0 || !double.TryParse(text[..split], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var n))
        {
            return false;
        }

        var value = n * multiplier;
        if (!double.IsFinite(value) || value < 0 || value > long.MaxValue / 2)
        {
            return false;
        }

        bytes = (long)value;
        return true;
    }

    private static bool IsPattern(string text) => text.Length is > 0 and <= MaxString && !text.Any(char.IsControl);

    private static string Show(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => $"\"{Clip(element.GetString()!)}\"",
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "a list",
        _ => Clip(element.GetRawText()),
    };

    private static string Clip(string text)
    {
        var clean = new string(text.Take(60).Select(c => char.IsControl(c) ? '?' : c).ToArray());
        return text.Length > 60 ? clean + "..." : clean;
    }
}
