using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using PeerPatch.Protocol.Mdns;

namespace PeerPatch.Node.Discovery;

/// <summary>
/// mDNS sockets (RFC 6762 §11, §15). One socket on 0.0.0.0:5353 joins 224.0.0.251 on every chosen interface and
/// receives, with the arrival interface from IP_PKTINFO; one socket per interface, bound to that interface's
/// address and port 5353, sends (IP TTL 255) and receives unicast replies. Every socket sets SO_REUSEADDR and
/// SO_REUSEPORT so the port is shared with avahi or any other responder on the host. Interfaces are re-scanned when
/// the kernel reports an address change and periodically, to follow the ones that come and go. Malformed packets
/// are counted and dropped.
/// </summary>
internal sealed partial class MdnsTransport(MdnsOptions options, TimeProvider time, ILogger<MdnsTransport> logger) : IMdnsTransport, IAsyncDisposable
{
    private static readonly IPAddress Group = IPAddress.Parse("224.0.0.251");
    private static readonly IPAddress Group6 = IPAddress.Parse("ff02::fb");
    private readonly ConcurrentDictionary<int, Joined> _joined = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = [];
    private readonly object _rescanLock = new();
    private Socket? _receiver;
    private Socket? _receiver6;
    private long _malformed;
    private long _received;
    private long _sent;

    /// <summary>A decoded packet, its sender and the index of the interface it arrived on.</summary>
    public event Action<DnsMessage, IPEndPoint, int>? Received;

    public long Malformed => Interlocked.Read(ref _malformed);

    public long PacketsReceived => Interlocked.Read(ref _received);

    public long PacketsSent => Interlocked.Read(ref _sent);

    public IReadOnlyList<MdnsInterface> Interfaces => _joined.Values.Select(j => j.Interface).ToList();

    public void Start()
    {
        _receiver = NewSocket(AddressFamily.InterNetwork);
        _receiver.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.PacketInformation, true);
        _receiver.Bind(new IPEndPoint(IPAddress.Any, options.Port));
        if (Socket.OSSupportsIPv6)
        {
            try
            {
                _receiver6 = NewSocket(AddressFamily.InterNetworkV6);
                _receiver6.SetSocketOption(SocketOptionLevel.IPv6, SocketOptionName.PacketInformation, true);
                _receiver6.Bind(new IPEndPoint(IPAddress.IPv6Any, options.Port));
                _loops.Add(ReceiveLoopAsync(_receiver6, _stop.Token));
            }
            catch (SocketException e)
            {
                _receiver6?.Dispose();
                _receiver6 = null;
                Log.JoinFailed(logger, "IPv6", e.Message);
            }
        }

        Rescan();
        _loops.Add(ReceiveLoopAsync(_receiver, _stop.Token));
        _loops.Add(ScanLoopAsync(_stop.Token));
        System.Net.NetworkInformation.NetworkChange.NetworkAddressChanged += OnNetworkChanged;
    }

    /// <summary>Sends <paramref name="message"/> to 224.0.0.251 on every interface (or only <paramref name="interfaceIndex"/>).</summary>
    public Task SendMulticastAsync(DnsMessage message, int? interfaceIndex = null) => SendMulticastAsync(_ => message, interfaceIndex);

    /// <summary>Sends a message built for each interface (its own address in A records) to 224.0.0.251.</summary>
    public async Task SendMulticastAsync(Func<MdnsInterface, DnsMessage> build, int? interfaceIndex = null)
    {
        foreach (var joined in _joined.Values)
        {
            if (interfaceIndex is null || joined.Interface.Index == interfaceIndex)
            {
                var message = build(joined.Interface);
                await SendAsync(joined.Sender, joined.Interface, message, new IPEndPoint(Group, options.Port)).ConfigureAwait(false);
                if (joined.Sender6 is { } v6)
                {
                    await SendAsync(v6, joined.Interface, message, new IPEndPoint(new IPAddress(Group6.GetAddressBytes(), joined.Interface.Index), options.Port)).ConfigureAwait(false);
                }
            }
        }
    }

    /// <summary>Sends to one address, from port 5353 on the interface the question came in on.</summary>
    public async Task SendUnicastAsync(DnsMessage message, IPEndPoint to, int interfaceIndex)
    {
        if (_joined.TryGetValue(interfaceIndex, out var joined) || (joined = _joined.Values.FirstOrDefault()) is not null)
        {
            var socket = to.AddressFamily == AddressFamily.InterNetworkV6 ? joined.Sender6 : joined.Sender;
            if (socket is not null)
            {
                await SendAsync(socket, joined.Interface, message, to).ConfigureAwait(false);
            }
        }
    }

    /// <summary>The interface with that index, if mDNS runs on it.</summary>
    public MdnsInterface? Interface(int index) => _joined.TryGetValue(index, out var j) ? j.Interface : null;

    public async ValueTask DisposeAsync()
    {
        System.Net.NetworkInformation.NetworkChange.NetworkAddressChanged -= OnNetworkChanged;
        await _stop.CancelAsync().ConfigureAwait(false);
        _receiver?.Dispose();
        _receiver6?.Dispose();
        foreach (var joined in _joined.Values)
        {
            joined.Sender.Dispose();
            joined.Sender6?.Dispose();
        }

        try
        {
            await Task.WhenAll(_loops).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }

        _stop.Dispose();
    }

    private async Task SendAsync(Socket socket, MdnsInterface nic, DnsMessage message, IPEndPoint to)
    {
        try
        {
            await socket.SendToAsync(DnsCodec.Encode(message), SocketFlags.None, to).ConfigureAwait(false);
            Interlocked.Increment(ref _sent);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or DnsFormatException)
        {
            Log.SendFailed(logger, nic.Name, e.Message);
        }
    }

    /// <summary>The kernel reported an address change (netlink): rescan now rather than at the next periodic scan.</summary>
    private void OnNetworkChanged(object? sender, EventArgs e)
    {
        if (!_stop.IsCancellationRequested)
        {
            _ = Task.Run(Rescan);
        }
    }

    private void Rescan()
    {
        lock (_rescanLock)
        {
            RescanLocked();
        }
    }

    private void RescanLocked()
    {
        var current = InterfaceScanner.Scan(options.Interfaces);
        foreach (var gone in _joined.Values.Where(j => !current.Contains(j.Interface)).ToList())
        {
            _joined.TryRemove(gone.Interface.Index, out _);
            try
            {
                _receiver?.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.DropMembership, new MulticastOption(Group, gone.Interface.Index));
                if (gone.Sender6 is not null)
                {
                    _receiver6?.SetSocketOption(SocketOptionLevel.IPv6, SocketOptionName.DropMembership, new IPv6MulticastOption(Group6, gone.Interface.Index));
                }
            }
            catch (SocketException)
            {
                // the interface is already gone
            }

            gone.Sender.Dispose();
            gone.Sender6?.Dispose();
            Log.InterfaceLeft(logger, gone.Interface.Name);
        }

        foreach (var nic in current.Where(c => !_joined.ContainsKey(c.Index)))
        {
            try
            {
                _receiver!.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.AddMembership, new MulticastOption(Group, nic.Index));
                var sender = NewSocket(AddressFamily.InterNetwork);
                sender.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastInterface, nic.Address.GetAddressBytes());
                sender.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastTimeToLive, 255);
                sender.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.IpTimeToLive, 255);
                sender.Bind(new IPEndPoint(nic.Address, options.Port));
                var joined = new Joined(nic, sender, JoinV6(nic));
                _joined[nic.Index] = joined;
                _loops.Add(ReceiveLoopAsync(sender, _stop.Token, nic.Index));
                if (joined.Sender6 is not null)
                {
                    _loops.Add(ReceiveLoopAsync(joined.Sender6, _stop.Token, nic.Index));
                }

                Log.InterfaceJoined(logger, nic.Name, nic.Address);
            }
            catch (SocketException e)
            {
                Log.JoinFailed(logger, nic.Name, e.Message);
            }
        }
    }

    /// <summary>Joins ff02::fb on the interface and opens its IPv6 sender (bound to its link-local address, port 5353); null when IPv6 is not up there.</summary>
    private Socket? JoinV6(MdnsInterface nic)
    {
        if (_receiver6 is null || nic.V6Addresses.Count == 0)
        {
            return null;
        }

        Socket? sender = null;
        try
        {
            _receiver6.SetSocketOption(SocketOptionLevel.IPv6, SocketOptionName.AddMembership, new IPv6MulticastOption(Group6, nic.Index));
            sender = NewSocket(AddressFamily.InterNetworkV6);
            sender.SetSocketOption(SocketOptionLevel.IPv6, SocketOptionName.MulticastInterface, nic.Index);
            sender.SetSocketOption(SocketOptionLevel.IPv6, SocketOptionName.MulticastTimeToLive, 255);
            sender.Bind(new IPEndPoint(new IPAddress(nic.V6Addresses[0].GetAddressBytes(), nic.Index), options.Port));
            return sender;
        }
        catch (SocketException e)
        {
            sender?.Dispose();
            Log.JoinFailed(logger, nic.Name + " (IPv6)", e.Message);
            return null;
        }
    }

    private async Task ScanLoopAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(options.InterfaceScanInterval, time);
        while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false))
        {
            Rescan();
        }
    }

    private async Task ReceiveLoopAsync(Socket socket, CancellationToken ct, int? fixedInterface = null)
    {
        var buffer = new byte[MdnsLimits.MaxPacketBytes + 1];
        while (!ct.IsCancellationRequested)
        {
            SocketReceiveMessageFromResult result;
            try
            {
                var any = socket.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any;
                result = await socket.ReceiveMessageFromAsync(buffer, SocketFlags.None, new IPEndPoint(any, 0), ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException e)
            {
                Log.ReceiveFailed(logger, e.Message);
                continue;
            }

            Interlocked.Increment(ref _received);
            if (!DnsCodec.TryDecode(buffer.AsSpan(0, result.ReceivedBytes), out var message, out var error))
            {
                Interlocked.Increment(ref _malformed);
                Log.Malformed(logger, result.RemoteEndPoint, error);
                continue;
            }

            try
            {
                Received?.Invoke(message!, (IPEndPoint)result.RemoteEndPoint, fixedInterface ?? result.PacketInformation.Interface);
            }
            catch (Exception e)
            {
                Log.HandlerFailed(logger, e);
            }
        }
    }

    private static Socket NewSocket(AddressFamily family)
    {
        var socket = new Socket(family, SocketType.Dgram, ProtocolType.Udp);
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        if (OperatingSystem.IsLinux())
        {
            socket.SetRawSocketOption(1 /* SOL_SOCKET */, 15 /* SO_REUSEPORT */, BitConverter.GetBytes(1));
        }

        if (family == AddressFamily.InterNetworkV6)
        {
            socket.DualMode = false; // IPv6 only: IPv4 has its own sockets
            socket.SetSocketOption(SocketOptionLevel.IPv6, SocketOptionName.MulticastLoopback, true);
        }
        else
        {
            socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastLoopback, true);
        }

        return socket;
    }

    private sealed record Joined(MdnsInterface Interface, Socket Sender, Socket? Sender6);

    private static partial class Log
    {
        [LoggerMessage(EventId = 600, Level = LogLevel.Information, Message = "mDNS on {Interface} ({Address})")]
        public static partial void InterfaceJoined(ILogger logger, string @interface, IPAddress address);

        [LoggerMessage(EventId = 601, Level = LogLevel.Information, Message = "mDNS left {Interface}")]
        public static partial void InterfaceLeft(ILogger logger, string @interface);

        [LoggerMessage(EventId = 602, Level = LogLevel.Warning, Message = "mDNS cannot use {Interface}: {Error}")]
        public static partial void JoinFailed(ILogger logger, string @interface, string error);

        [LoggerMessage(EventId = 603, Level = LogLevel.Debug, Message = "mDNS dropped a malformed packet from {EndPoint}: {Error}")]
        public static partial void Malformed(ILogger logger, EndPoint endPoint, string? error);

        [LoggerMessage(EventId = 604, Level = LogLevel.Debug, Message = "mDNS send on {Interface} failed: {Error}")]
        public static partial void SendFailed(ILogger logger, string @interface, string error);

        [LoggerMessage(EventId = 605, Level = LogLevel.Debug, Message = "mDNS receive failed: {Error}")]
        public static partial void ReceiveFailed(ILogger logger, string error);

        [LoggerMessage(EventId = 606, Level = LogLevel.Warning, Message = "mDNS packet handler failed")]
        public static partial void HandlerFailed(ILogger logger, Exception exception);
    }
}
