using System.Buffers.Binary;
using System.Net;
using System.Text;

namespace PeerPatch.Protocol.Mdns;

/// <summary>
/// DNS wire format (RFC 1035 §4, with the mDNS class bits of RFC 6762 §10.2 and §5.4). Hand-written because no
/// mDNS/DNS package restores here (DnsClient only speaks unicast DNS and does not expose its codec for
/// building responses). Encoding compresses names. Decoding treats the packet as hostile: every read is bounds
/// checked, compression pointers must point backwards and are followed at most <see cref="MdnsLimits.MaxPointerJumps"/>
/// times, names and labels are length-limited, and any violation is a <see cref="DnsFormatException"/>.
/// </summary>
public static class DnsCodec
{
    private const ushort ClassIn = 1;
    private const ushort TopBit = 0x8000;
    private const ushort TruncatedBit = 0x0200;

    public static byte[] Encode(DnsMessage message)
    {
        var writer = new Writer();
        writer.U16(message.Id);
        writer.U16((ushort)((message.IsResponse ? 0x8000 : 0) | (message.Authoritative ? 0x0400 : 0) | (message.Truncated ? TruncatedBit : 0)));
        writer.U16((ushort)message.Questions.Count);
        writer.U16((ushort)message.Answers.Count);
        writer.U16((ushort)message.Authorities.Count);
        writer.U16((ushort)message.Additionals.Count);
        foreach (var q in message.Questions)
        {
            writer.Name(q.Name);
            writer.U16((ushort)q.Type);
            writer.U16((ushort)(ClassIn | (q.UnicastResponse ? TopBit : 0)));
        }

        foreach (var record in message.AllRecords)
        {
            writer.Record(record);
        }

        if (writer.Length > MdnsLimits.MaxPacketBytes)
        {
            throw new DnsFormatException($"message of {writer.Length} bytes exceeds {MdnsLimits.MaxPacketBytes}");
        }

        return writer.ToArray();
    }

    /// <summary>Decodes a packet; never throws for bad input.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> packet, out DnsMessage? message, out string? error)
    {
        try
        {
            message = Decode(packet);
            error = null;
            return true;
        }
        catch (DnsFormatException e)
        {
            message = null;
            error = e.Message;
            return false;
        }
    }

    /// <summary>Decodes a packet or throws <see cref="DnsFormatException"/>.</summary>
    public static DnsMessage Decode(ReadOnlySpan<byte> packet)
    {
        if (packet.Length > MdnsLimits.MaxPacketBytes)
        {
            throw new DnsFormatException($"packet of {packet.Length} bytes");
        }

        var reader = new Reader(packet);
        var id = reader.U16();
        var flags = reader.U16();
        int qd = reader.U16(), an = reader.U16(), ns = reader.U16(), ar = reader.U16();
        if (qd + an + ns + ar > MdnsLimits.MaxRecords)
        {
            throw new DnsFormatException($"{qd + an + ns + ar} records");
        }

        var questions = new List<DnsQuestion>(qd);
        for (var i = 0; i < qd; i++)
        {
            var name = reader.Name();
            var type = (DnsType)reader.U16();
            var cls = reader.U16();
            questions.Add(new DnsQuestion(name, type, (cls & TopBit) != 0));
        }

        return new DnsMessage(
            id,
            (flags & 0x8000) != 0,
            (flags & 0x0400) != 0,
            questions,
            ReadRecords(ref reader, an),
            ReadRecords(ref reader, ns),
            ReadRecords(ref reader, ar))
        {
            Truncated = (flags & TruncatedBit) != 0,
        };
    }

    private static List<DnsRecord> ReadRecords(ref Reader reader, int count)
    {
        var list = new List<DnsRecord>(count);
        for (var i = 0; i < count; i++)
        {
            list.Add(reader.Record());
        }

        return list;
    }

    private ref struct Reader(ReadOnlySpan<byte> packet)
    {
        private readonly ReadOnlySpan<byte> _packet = packet;
        private int _position;

        public ushort U16()
        {
            var value = BinaryPrimitives.ReadUInt16BigEndian(Take(2));
            return value;
        }

        public uint U32() => BinaryPrimitives.ReadUInt32BigEndian(Take(4));

        public DnsName Name()
        {
            var (name, end) = ReadName(_position);
            _position = end;
            return name;
        }

        public DnsRecord Record()
        {
            var name = Name();
            var type = (DnsType)U16();
            var cls = U16();
            var ttl = U32();
            var length = U16();
            var start = _position;
            Take(length);
            var flush = (cls & TopBit) != 0;
            var rdata = _packet.Slice(start, length);
            DnsRecord record = type switch
            {
                DnsType.A when length == 4 => new AddressRecord(name, ttl, flush, new IPAddress(rdata)),
                DnsType.Aaaa when length == 16 => new AddressRecord(name, ttl, flush, new IPAddress(rdata)),
                DnsType.A or DnsType.Aaaa => throw new DnsFormatException($"{type} record of {length} bytes"),
                DnsType.Ptr => new PtrRecord(name, ttl, NameWithin(start, start + length)),
                DnsType.Srv when length >= 7 => new SrvRecord(
                    name, ttl, flush,
                    BinaryPrimitives.ReadUInt16BigEndian(rdata),
                    BinaryPrimitives.ReadUInt16BigEndian(rdata[2..]),
                    BinaryPrimitives.ReadUInt16BigEndian(rdata[4..]),
                    NameWithin(start + 6, start + length)),
                DnsType.Srv => throw new DnsFormatException($"SRV record of {length} bytes"),
                DnsType.Txt => new TxtRecord(name, ttl, flush, Strings(rdata)),
                _ => new OpaqueRecord(name, ttl, flush, type, rdata.ToArray()),
            };
            return record;
        }

        private DnsName NameWithin(int start, int end)
        {
            var (name, after) = ReadName(start);
            if (after > end)
            {
                throw new DnsFormatException("name runs past its record");
            }

            return name;
        }

        private static List<string> Strings(ReadOnlySpan<byte> rdata)
        {
            var strings = new List<string>();
            var i = 0;
            while (i < rdata.Length)
            {
                var n = rdata[i++];
                if (i + n > rdata.Length)
                {
                    throw new DnsFormatException("TXT string runs past its record");
                }

                if (n > 0)
                {
                    strings.Add(Encoding.UTF8.GetString(rdata.Slice(i, n)));
                }

                i += n;
            }

            return strings;
        }

        private (DnsName Name, int End) ReadName(int position)
        {
            var labels = new List<string>();
            var total = 1;
            var jumps = 0;
            var end = -1;
            var lowest = position;
            while (true)
            {
                if (position >= _packet.Length)
                {
                    throw new DnsFormatException("name runs past the packet");
                }

                var length = _packet[position];
                if ((length & 0xC0) == 0xC0)
                {
                    if (position + 1 >= _packet.Length)
                    {
                        throw new DnsFormatException("truncated compression pointer");
                    }

                    var target = ((length & 0x3F) << 8) | _packet[position + 1];
                    if (end < 0)
                    {
                        end = position + 2;
                    }

                    if (target >= lowest || ++jumps > MdnsLimits.MaxPointerJumps)
                    {
                        throw new DnsFormatException("compression pointer loop or forward pointer");
                    }

                    lowest = target;
                    position = target;
                    continue;
                }

                if ((length & 0xC0) != 0)
                {
                    throw new DnsFormatException($"unsupported label type 0x{length:x2}");
                }

                if (length == 0)
                {
                    return (new DnsName(labels), end < 0 ? position + 1 : end);
                }

                total += length + 1;
                if (total > MdnsLimits.MaxNameBytes || position + 1 + length > _packet.Length)
                {
                    throw new DnsFormatException("name too long or truncated");
                }

                labels.Add(Encoding.UTF8.GetString(_packet.Slice(position + 1, length)));
                position += length + 1;
            }
        }

        private ReadOnlySpan<byte> Take(int n)
        {
            if (_position + n > _packet.Length)
            {
                throw new DnsFormatException("truncated packet");
            }

            var slice = _packet.Slice(_position, n);
            _position += n;
            return slice;
        }
    }

    private sealed class Writer
    {
        private readonly Dictionary<string, int> _names = new(StringComparer.Ordinal);
        private byte[] _buffer = new byte[512];

        public int Length { get; private set; }

        public byte[] ToArray() => _buffer.AsSpan(0, Length).ToArray();

        public void U16(ushort value) => BinaryPrimitives.WriteUInt16BigEndian(Grow(2), value);

        public void U32(uint value) => BinaryPrimitives.WriteUInt32BigEndian(Grow(4), value);

        public void Bytes(ReadOnlySpan<byte> bytes) => bytes.CopyTo(Grow(bytes.Length));

        public void Name(DnsName name)
        {
            var labels = name.Labels;
            for (var i = 0; i < labels.Count; i++)
            {
                var key = string.Join('\0', labels.Skip(i)).ToLowerInvariant();
                if (_names.TryGetValue(key, out var offset))
                {
                    U16((ushort)(0xC000 | offset));
                    return;
                }

                if (Length < 0x3FFF)
                {
                    _names[key] = Length;
                }

                var bytes = Encoding.UTF8.GetBytes(labels[i]);
                Grow(1)[0] = (byte)bytes.Length;
                Bytes(bytes);
            }

            Grow(1)[0] = 0;
        }

        public void Record(DnsRecord record)
        {
            Name(record.Name);
            U16((ushort)record.Type);
            U16((ushort)(ClassIn | (record.CacheFlush ? TopBit : 0)));
            U32(record.Ttl);
            var lengthAt = Length;
            U16(0);
            var start = Length;
            switch (record)
            {
                case AddressRecord a:
                    Bytes(a.Address.GetAddressBytes());
                    break;
                case PtrRecord p:
                    Name(p.Target);
                    break;
                case SrvRecord s:
                    U16(s.Priority);
                    U16(s.Weight);
                    U16(s.Port);
                    Name(s.Target);
                    break;
                case TxtRecord t:
                    if (t.Strings.Count == 0)
                    {
                        Grow(1)[0] = 0; // RFC 6763 §6.1: an empty TXT record holds one empty string
                    }

                    foreach (var s in t.Strings)
                    {
                        var bytes = Encoding.UTF8.GetBytes(s);
                        if (bytes.Length > 255)
                        {
                            throw new DnsFormatException($"TXT string of {bytes.Length} bytes");
                        }

                        Grow(1)[0] = (byte)bytes.Length;
                        Bytes(bytes);
                    }

                    break;
                case OpaqueRecord o:
                    Bytes(o.Data);
                    break;
            }

            BinaryPrimitives.WriteUInt16BigEndian(_buffer.AsSpan(lengthAt), (ushort)(Length - start));
        }

        private Span<byte> Grow(int n)
        {
            if (Length + n > _buffer.Length)
            {
                Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, Length + n));
            }

            var span = _buffer.AsSpan(Length, n);
            Length += n;
            return span;
        }
    }
}
