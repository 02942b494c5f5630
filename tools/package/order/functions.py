"""functions.py: the compiled managed functions of an unstripped peerpatch, for tools/package/order/profile.sh.

functions.py functions EXE ADDRS NAMES: writes ADDRS (one hex virtual address per line, ascending: what first-call.so breaks
on) and NAMES (line k: the symbol names at address k, space separated; a body that the compiler folded carries several).
functions.py order FIRST_CALLS NAMES ORDER: writes ORDER (one symbol name per line, in first-call order), the IlcOrderFile.
"""
import struct
import subprocess
import sys


def functions(exe, addrs_path, names_path):
    sections = []
    for line in subprocess.run(['readelf', '-SW', exe], capture_output=True, text=True, check=True).stdout.splitlines():
        fields = line.replace('[ ', '[').split()
        if len(fields) > 5 and fields[1] in ('__managedcode', '__unbox'):
            start = int(fields[3], 16)
            sections.append((start, start + int(fields[5], 16)))
    if not sections:
        sys.exit(f'{exe}: no __managedcode section (not a Native AOT executable?)')
    # Function symbols only (FUNC, size > 0): an int3 on a label inside a function would corrupt an instruction.
    names = {}
    for line in subprocess.run(['readelf', '-sW', exe], capture_output=True, text=True, check=True).stdout.splitlines():
        fields = line.split()
        if len(fields) < 8 or fields[3] != 'FUNC' or not fields[1].isalnum():
            continue
        address, size, name = int(fields[1], 16), int(fields[2], 0), fields[7]
        if size > 0 and any(lo <= address < hi for lo, hi in sections):
            names.setdefault(address, []).append(name)
    if not names:
        sys.exit(f'{exe}: no function symbols (publish with -p:StripSymbols=false)')
    rows = sorted(names.items())
    with open(addrs_path, 'w') as f:
        f.writelines(f'{address:x}\n' for address, _ in rows)
    with open(names_path, 'w') as f:
        f.writelines(' '.join(n) + '\n' for _, n in rows)
    print(f'{len(rows)} functions', file=sys.stderr)


def order(first_calls_path, names_path, order_path):
    names = open(names_path).read().splitlines()
    data = open(first_calls_path, 'rb').read()
    seen, out = set(), []
    for (index,) in struct.iter_unpack('<i', data[:len(data) // 4 * 4]):
        if index not in seen:
            seen.add(index)
            out.extend(names[index].split())
    with open(order_path, 'w') as f:
        f.writelines(n + '\n' for n in out)
    print(f'{len(seen)} of {len(names)} functions ran', file=sys.stderr)


if __name__ == '__main__':
    {'functions': functions, 'order': order}[sys.argv[1]](*sys.argv[2:])
