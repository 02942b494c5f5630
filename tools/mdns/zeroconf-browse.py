#!/usr/bin/python3
"""Browse a DNS-SD service type with python3-zeroconf (an independent mDNS implementation) and print what it
resolves as JSON lines: {"name","port","server","addresses","txt"}.
Usage: zeroconf-browse.py SERVICE_TYPE SECONDS [v4|v6] [INTERFACE_ADDRESS]"""
import json, socket, sys, time
from zeroconf import IPVersion, ServiceBrowser, Zeroconf

service, seconds = sys.argv[1], float(sys.argv[2])
version = IPVersion.V6Only if len(sys.argv) > 3 and sys.argv[3] == "v6" else IPVersion.V4Only
interfaces = [sys.argv[4]] if len(sys.argv) > 4 else None
zc = Zeroconf(interfaces=interfaces, ip_version=version) if interfaces else Zeroconf(ip_version=version)
found = {}

class Listener:
    def add_service(self, zc, type_, name):
        found[name] = None

    def update_service(self, zc, type_, name):
        found[name] = None

    def remove_service(self, zc, type_, name):
        found.pop(name, None)

ServiceBrowser(zc, service, Listener())
time.sleep(seconds)
for name in sorted(found):
    info = zc.get_service_info(service, name, timeout=3000)
    if info is None:
        print(json.dumps({"name": name, "resolved": False}))
        continue
    print(json.dumps({
        "name": name,
        "resolved": True,
        "port": info.port,
        "server": info.server,
        "addresses": [socket.inet_ntop(socket.AF_INET6 if len(a) == 16 else socket.AF_INET, a)
                      for a in info.addresses_by_version(version)],
        "txt": {k.decode(): (v.decode() if v is not None else None) for k, v in info.properties.items()},
    }), flush=True)
zc.close()
