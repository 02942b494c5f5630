using PeerPatch.Protocol.Mdns;

namespace PeerPatch.Node.Discovery;

internal sealed partial class MdnsResponder
{
    /// <summary>A truncated query and the known answers its sender's later packets add (§7.2).</summary>
    private sealed class PendingQuery(DnsMessage query)
    {
        private readonly List<DnsRecord> _known = [.. query.Answers];

        public DnsMessage Query => query;

        /// <summary>Takes the known answers of a question-less query from the same sender; false for anything else.</summary>
        public bool Add(DnsMessage message)
        {
            if (message.Questions.Count > 0)
            {
                return false;
            }

            lock (_known)
            {
                foreach (var record in message.Answers)
                {
                    if (_known.Count < MaxPendingAnswers)
                    {
                        _known.Add(record);
                    }
                }
            }

            return true;
        }

        public DnsMessage Merged()
        {
            lock (_known)
            {
                return query with { Answers = [.. _known], Truncated = false };
            }
        }
    }
}
