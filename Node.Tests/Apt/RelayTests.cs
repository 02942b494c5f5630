using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using PeerPatch.Node.Apt;
using PeerPatch.Node.Hosting;
using PeerPatch.Node.Tests.Support;
using PeerPatch.Node.Transfer;

namespace PeerPatch.Node.Tests.Apt;

/// <summary>Issue 19 part 6: what the apt proxy relays, and to whom (the pure parts; the open-relay test drives a real node).</summary>
public sealed class RelayTests
{
    [Theory]
    [InlineData("/debian/dists/bookworm/InRelease", true)]
    [InlineData("/debian/dists/bookworm/Release", true)]
    [InlineData("/debian/dists/bookworm/Release.gpg", true)]
    [InlineData("/debian/dists/bookworm/main/binary-amd64/Packages.xz", true)]
    [InlineData("/debian/dists/bookworm/main/binary-amd64/Packages", true)]
    [InlineData("/debian/dists/bookworm/main/source/Sources.gz", true)]
    [InlineData("/debian/dists/bookworm/main/i18n/Translation-en.bz2", true)]
    [InlineData("/debian/dists/bookworm/main/Contents-amd64.gz", true)]
    [InlineData("/debian/dists/bookworm/main/dep11/Components-amd64.yml.gz", true)]
    [InlineData("/debian/dists/bookworm/main/dep11/icons-64x64.tar.gz", true)]
    [InlineData("/debian/dists/bookworm/main/binary-amd64/by-hash/SHA256/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", true)]
    [InlineData("/debian/dists/bookworm/main/binary-amd64/Packages.diff/Index", true)]
    [InlineData("/debian/dists/bookworm/main/binary-amd64/Packages.diff/T-2024-01-01-0000.00-F-2023-12-31-2000.00.gz", true)]
    [InlineData("/debian/pool/main/g/glibc/libc6_2.36-9%2Bdeb12u14_amd64.deb", true)]
    [InlineData("/debian/pool/main/v/vim/vim-tiny_2%3A9.0.1378-2_amd64.deb", true)]
    [InlineData("/debian/pool/main/d/debian-installer/x.udeb", true)]
    [InlineData("/debian/pool/main/g/glibc/glibc_2.36-9.dsc", true)]
    [InlineData("/debian/pool/main/g/glibc/glibc_2.36.orig.tar.xz", true)]
    [InlineData("/debian/pool/main/g/glibc/glibc_2.36-9.debian.tar.xz", true)]
    [InlineData("/debian/pool/main/z/zlib/zlib_1.2.diff.gz", true)]
    [InlineData("/secret.txt", false)]
    [InlineData("/admin", false)]
    [InlineData("/v1/status", false)]
    [InlineData("/debian/dists/bookworm/main/binary-amd64/by-hash/SHA256/not-hex", false)]
    [InlineData("/debian/pool/main/x/x/x.deb.exe", false)]
    [InlineData("/index.html", false)]
    [InlineData("/etc/passwd", false)]
    public void OnlyAptFilesAreRelayed(string path, bool apt) => Assert.Equal(apt, ArchiveFiles.IsAptFile(path));

    [Fact]
    public void OneLineSources_NameEachOrigin_WithItsSchemeAndPort()
    {
        var text = """
            # a comment line with http://ignored.example/
            deb http://deb.debian.org/debian bookworm main contrib
            deb [arch=amd64 signed-by=/usr/share/keyrings/x.gpg] https://packages.example.com:8443/apt stable main
            deb-src http://Security.Debian.Org/debian-security bookworm-security main # trailing comment
              deb	http://mirror.lan:3142/debian bookworm main
            debfoo http://not-a-type.example/ x
            deb mirror+file:/etc/apt/mirrors.txt bookworm main
            deb cdrom:[Debian 12]/ bookworm main
            deb http://user:pw@private.example/ x main
            """;
        Assert.Equal(
            [new("http", "deb.debian.org", 80), new("https", "packages.example.com", 8443), new("http", "security.debian.org", 80), new RelayEndpoint("http", "mirror.lan", 3142)],
            AptSourcesParser.ParseOneLine(text).ToList());
    }

    [Fact]
    public void Deb822Sources_NameEveryUri_AndSkipDisabledStanzas()
    {
        var text = """
            Types: deb deb-src
            URIs: http://deb.debian.org/debian
             https://mirror.example.org/debian
            Suites: bookworm bookworm-updates
            Components: main
            Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

            # disabled
            Types: deb
            URIs: http://disabled.example/debian
            Suites: bookworm
            Enabled: no

            Types: deb
            URIs: http://[fd00::5]:8080/ubuntu
            Suites: noble
            """;
        Assert.Equal(
            [new("http", "deb.debian.org", 80), new("https", "mirror.example.org", 443), new RelayEndpoint("http", "[fd00::5]", 8080)],
            AptSourcesParser.ParseDeb822(text).ToList());
    }

    [Fact]
    public async Task TheProxy_RelaysOnlyToListedOrigins_OnTheirPorts_NeverToThisMachine_UnlessTheAdminListedIt()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.Sub("sources.list.d"));
        await File.WriteAllTextAsync(dir.Sub("sources.list"), "deb http://93.184.216.34/debian bookworm main\ndeb http://127.0.0.1:9999/local x main\n");
        var options = new AptOptions { AptSourcesDir = dir.Path, AptUpstreams = ["127.0.0.1:8080", "http://10.9.9.9:3142/"] };
        var time = new FakeTimeProvider();
        using var local = new LocalAddresses(time);
        var policy = new AptRelayPolicy(new AptSourcesList(options, time, NullLogger<AptSourcesList>.Instance), local, new TransferOptions(), time);
        async Task<RelayRefusal> Check(string scheme, string host, int port, string? path = "/debian/dists/bookworm/InRelease") =>
            (await policy.CheckAsync(new RelayEndpoint(scheme, host, port), path, CancellationToken.None)).Refusal;

        Assert.Equal(RelayRefusal.None, await Check("http", "93.184.216.34", 80));
        Assert.Equal(RelayRefusal.NotAptPath, await Check("http", "93.184.216.34", 80, "/secret.txt"));
        Assert.Equal(RelayRefusal.NotListed, await Check("http", "93.184.216.34", 8080));
        Assert.Equal(RelayRefusal.NotListed, await Check("https", "93.184.216.34", 443, null)); // an http source is not a CONNECT target
        Assert.Equal(RelayRefusal.NotListed, await Check("http", "10.1.2.3", 80)); // another LAN host
        Assert.Equal(RelayRefusal.ThisMachine, await Check("http", "127.0.0.1", 9999)); // named by a source, but loopback
        Assert.Equal(RelayRefusal.None, await Check("http", "127.0.0.1", 8080)); // the admin's explicit local mirror
        Assert.Equal(RelayRefusal.None, await Check("https", "127.0.0.1", 8080, null));
        Assert.Equal(RelayRefusal.None, await Check("http", "10.9.9.9", 3142));
        Assert.Equal(RelayRefusal.NotListed, await Check("https", "10.9.9.9", 3142, null)); // the URL entry names http only

        // A source added later is picked up once the files are checked again.
        await File.AppendAllTextAsync(dir.Sub("sources.list.d/extra.sources"), "Types: deb\nURIs: http://198.51.100.7/x\nSuites: s\n");
        Assert.Equal(RelayRefusal.NotListed, await Check("http", "198.51.100.7", 80));
        time.Advance(AptSourcesList.RecheckInterval);
        Assert.Equal(RelayRefusal.None, await Check("http", "198.51.100.7", 80));
    }

    [Fact]
    public void ThisMachine_IsLoopback_Unspecified_AndEveryInterfacesAddress()
    {
        using var local = new LocalAddresses(TimeProvider.System);
        Assert.True(local.IsThisMachine(IPAddress.Loopback));
        Assert.True(local.IsThisMachine(IPAddress.Parse("127.8.9.10")));
        Assert.True(local.IsThisMachine(IPAddress.IPv6Loopback));
        Assert.True(local.IsThisMachine(IPAddress.Any));
        Assert.True(local.IsThisMachine(IPAddress.Parse("::ffff:127.0.0.1")));
        foreach (var nic in System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces())
        {
            foreach (var a in nic.GetIPProperties().UnicastAddresses)
            {
                Assert.True(local.IsThisMachine(a.Address), a.Address.ToString());
            }
        }

        Assert.False(local.IsThisMachine(IPAddress.Parse("192.0.2.77"))); // TEST-NET-1: never configured here
    }
}
