using System.Diagnostics;
using System.Net.Sockets;

namespace PeerPatch.Bench;

/// <summary>The reference web server: Debian's nginx with sendfile, serving a directory on loopback, its own prefix and pid.</summary>
internal sealed class Nginx
{
    private Nginx(int port) => Port = port;

    public int Port { get; }

    public Uri BaseUri => new($"http://127.0.0.1:{Port}/");

    public static async Task<Nginx> StartAsync(string prefix, string root)
    {
        Directory.CreateDirectory(prefix);
        var port = BenchNode.FreeTcpPort();
        var conf = Path.Combine(prefix, "nginx.conf");
        await File.WriteAllTextAsync(conf, $$"""
            worker_processes 2;
            daemon off;
            pid {{prefix}}/nginx.pid;
            error_log {{prefix}}/error.log warn;
            events { worker_connections 1024; }
            http {
              access_log off;
              sendfile on;
              tcp_nopush on;
              client_body_temp_path {{prefix}}/body;
              proxy_temp_path {{prefix}}/proxy;
              fastcgi_temp_path {{prefix}}/fastcgi;
              uwsgi_temp_path {{prefix}}/uwsgi;
              scgi_temp_path {{prefix}}/scgi;
              server { listen 127.0.0.1:{{port}}; root {{root}}; }
            }
            """);
        Proc.Start("/usr/sbin/nginx", "-p", prefix, "-c", conf);
        for (var watch = Stopwatch.StartNew(); watch.Elapsed < TimeSpan.FromSeconds(10); await Task.Delay(50))
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync("127.0.0.1", port);
                return new Nginx(port);
            }
            catch (SocketException)
            {
            }
        }

        throw new InvalidOperationException("nginx did not start: " + (File.Exists(Path.Combine(prefix, "error.log")) ? File.ReadAllText(Path.Combine(prefix, "error.log")) : "no log"));
    }
}
