using System.Diagnostics;
using System.Net.Sockets;

namespace PeerPatch.Bench;

/// <summary>
/// Debian's nginx with sendfile, serving a directory, its own prefix and pid: the reference web server on loopback,
/// and the fleet's upstream (in a network namespace, logging the body bytes of every response).
/// </summary>
internal sealed class Nginx
{
    private readonly string _prefix;

    private readonly System.Diagnostics.Process _process;

    private Nginx(string prefix, string address, int port, System.Diagnostics.Process process) => (_prefix, Address, Port, _process) = (prefix, address, port, process);

    public string Address { get; }

    public int Port { get; }

    public Uri BaseUri => new($"http://{Address}:{Port}/");

    /// <summary>Where each response is logged as "URI BODYBYTES" (when started with a log).</summary>
    public string AccessLog => Path.Combine(_prefix, "access.log");

    /// <param name="netns">Run inside this network namespace (root), instead of the bench's own.</param>
    public static async Task<Nginx> StartAsync(string prefix, string root, string address = "127.0.0.1", int port = 0, string? netns = null, bool log = false)
    {
        Directory.CreateDirectory(prefix);
        port = port == 0 ? BenchNode.FreeTcpPort() : port;
        var accessLog = log ? $"log_format bytes '$request_uri $body_bytes_sent'; access_log {prefix}/access.log bytes;" : "access_log off;";
        var conf = Path.Combine(prefix, "nginx.conf");
        await File.WriteAllTextAsync(conf, $$"""
            worker_processes 2;
            daemon off;
            pid {{prefix}}/nginx.pid;
            error_log {{prefix}}/error.log warn;
            events { worker_connections 1024; }
            http {
              {{accessLog}}
              sendfile on;
              tcp_nopush on;
              client_body_temp_path {{prefix}}/body;
              proxy_temp_path {{prefix}}/proxy;
              fastcgi_temp_path {{prefix}}/fastcgi;
              uwsgi_temp_path {{prefix}}/uwsgi;
              scgi_temp_path {{prefix}}/scgi;
              server { listen {{address}}:{{port}}; root {{root}}; }
            }
            """);
        string[] nginx = ["/usr/sbin/nginx", "-p", prefix, "-c", conf];
        var process = Proc.Start(netns is null ? nginx[0] : "ip", netns is null ? nginx[1..] : ["netns", "exec", netns, .. nginx]);
        for (var watch = Stopwatch.StartNew(); watch.Elapsed < TimeSpan.FromSeconds(10); await Task.Delay(50))
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(address, port);
                return new Nginx(prefix, address, port, process);
            }
            catch (SocketException)
            {
            }
        }

        process.Kill(entireProcessTree: true);
        throw new InvalidOperationException("nginx did not start: " + (File.Exists(Path.Combine(prefix, "error.log")) ? File.ReadAllText(Path.Combine(prefix, "error.log")) : "no log"));
    }

    /// <summary>Stops this nginx (its master and workers, by pid).</summary>
    public async Task StopAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }
}
