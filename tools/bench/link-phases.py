#!/usr/bin/env python3
"""What tools/bench/link-rates.sh sampled, as rates per window of 10 samples (about 11 s): the bytes all PCs sent on
the LAN (MB/s; their 20 uploads allow 20 x 12.5 MB/s, or 20 x 1.25 on the slowed LAN) and what the internet namespace
sent (its uplink). The bench's PCs are the veths PREFIXn1 .. PREFIXnN in order; the one after them is the internet.
Usage: link-phases.py OUT.samples [PCS]   (PCS default 20)"""
import collections
import sys

rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    t, name, rx, tx = line.split()
    rows[name].append((float(t), int(rx), int(tx)))
pcs_count = int(sys.argv[2]) if len(sys.argv) > 2 else 20
prefix = next(n for n in rows if n.endswith("n1"))[:-1]
veths = sorted((n for n in rows if n.startswith(prefix) and n[len(prefix):].isdigit()), key=lambda n: int(n[len(prefix):]))
pcs, internet = veths[:pcs_count], veths[pcs_count]
samples = min(len(rows[n]) for n in veths)


def rate(name, i0, i1, column):
    r = rows[name]
    return (r[i1][column] - r[i0][column]) / (r[i1][0] - r[i0][0]) / 1e6


# The run starts where the PCs begin to send; the shaping check before it moves one curl at a time.
start = next((i for i in range(samples - 1) if sum(rate(n, i, i + 1, 1) for n in pcs) > 2.5), 0)
print("from first PC traffic | LAN MB/s sent by all PCs | internet MB/s | most one PC sent")
for i in range(start, samples - 10, 10):
    lan = sum(rate(n, i, i + 10, 1) for n in pcs)
    top = max(rate(n, i, i + 10, 1) for n in pcs)
    print(f"{rows[pcs[0]][i][0] - rows[pcs[0]][start][0]:6.0f} s | {lan:5.1f} | {rate(internet, i, i + 10, 1):4.1f} | {top:4.2f}")
