using System.Net;
using Microsoft.Extensions.Options;
using PeerPatch.Node.Sources;
using PeerPatch.Protocol;

namespace PeerPatch.Node.Hosting;

/// <summary>Rejects a bad configuration at start-up, naming the setting.</summary>
internal sealed class NodeOptionsValidator : IValidateOptions<NodeOptions>
{
    public ValidateOptionsResult Validate(string? name, NodeOptions o)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(o.DataDir))
        {
            errors.Add("DataDir must be set");
        }

        if (o.Port is < 0 or > 65535)
        {
            errors.Add($"Port {o.Port} is not a port number");
        }

        if (o.HttpPort is < 1 or > 65535)
        {
            errors.Add($"HttpPort {o.HttpPort} is not a port number");
        }

        if (!IPAddress.TryParse(o.Bind, out _))
        {
            errors.Add($"Bind '{o.Bind}' is not an IP address");
        }

        if (o.Server is not null && !HostPort.TryParse(o.Server, out _, out _))
        {
            errors.Add($"Server '{o.Server}' is not HOST:PORT");
        }

        if (o.Role == RoleSetting.Client && o.Server is null)
        {
            errors.Add("Role client needs Server (--server HOST:PORT)");
        }

        if (o.OsVersion is not null && !WireFormat.IsOsVersion(o.OsVersion))
        {
            errors.Add($"OsVersion '{o.OsVersion}' must be 1-64 of [a-z0-9._-]");
        }

        foreach (var source in o.Sources)
        {
            if (!SourceSpec.TryParse(source, out _, out var error))
            {
                errors.Add($"Sources: {error}");
            }
        }

        if (!Enum.IsDefined(o.LogLevel))
        {
            errors.Add($"LogLevel {o.LogLevel} is not one of Verbose, Debug, Information, Warning, Error, Fatal");
        }

        if (o.LogFile is { Length: > 0 } logFile && (logFile.Contains('\0', StringComparison.Ordinal) || string.IsNullOrWhiteSpace(Path.GetFileName(logFile))))
        {
            errors.Add($"LogFile '{logFile}' must name a file");
        }

        if (o.Sources.Contains("none") && o.Sources.Count > 1)
        {
            errors.Add("Sources: none cannot be combined with other sources");
        }

        if (o.AptCommandTimeout <= TimeSpan.Zero || o.AptListMaxBytes <= 0)
        {
            errors.Add("AptCommandTimeout and AptListMaxBytes must be positive");
        }

        foreach (var upstream in o.AptUpstreams)
        {
            if (!Apt.RelayEndpoint.TryParseEntry(upstream, o.ConnectPorts, out _))
            {
                errors.Add($"AptUpstreams: '{upstream}' is not HOST, HOST:PORT or an http(s) URL");
            }
        }

        if (o.Priority is < 0)
        {
            errors.Add("Priority must not be negative");
        }

        if (o.UpdateInterval < TimeSpan.Zero)
        {
            errors.Add("UpdateInterval must not be negative");
        }

        if (o.CacheCapBytes < 0 || o.CacheCapPercent is < 1 or > 100)
        {
            errors.Add("CacheCapBytes must be >= 0 and CacheCapPercent 1-100");
        }

        if (o.InternetMinBytesPerSecond is < 0 or > 1L << 30)
        {
            errors.Add("InternetMinBytesPerSecond must be 0-1073741824");
        }

        if (o.MaxPatchBytes <= 0 || o.InternetAttempts is < 1 or > 20)
        {
            errors.Add("MaxPatchBytes must be > 0 and InternetAttempts 1-20");
        }

        foreach (var (label, value) in new[]
        {
            ("LookupTimeout", o.LookupTimeout), ("ClaimLease", o.ClaimLease), ("ClaimStallTimeout", o.ClaimStallTimeout),
            ("ClaimWaitMax", o.ClaimWaitMax), ("LanStallTimeout", o.LanStallTimeout), ("InternetStallTimeout", o.InternetStallTimeout),
            ("ApplyTimeout", o.ApplyTimeout), ("InternetConnectTimeout", o.InternetConnectTimeout),
            ("InternetHeadersTimeout", o.InternetHeadersTimeout), ("PassDeadline", o.PassDeadline), ("PassLockWait", o.PassLockWait),
        })
        {
            if (value <= TimeSpan.Zero)
            {
                errors.Add($"{label} must be positive");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
