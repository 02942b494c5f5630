#!/usr/bin/python3
"""Advertise one DNS-SD service with python3-zeroconf until stdin closes or SIGTERM.
Usage: zeroconf-advertise.py SERVICE_TYPE INSTANCE PORT INTERFACE_ADDRESS [key=value ...]"""
import signal, socket, sys, threading
from zeroconf import IPVersion, ServiceInfo, Zeroconf

service, instance, port, address = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
txt = dict(kv.split("=", 1) for kv in sys.argv[5:])
zc = Zeroconf(interfaces=[address], ip_version=IPVersion.V4Only)
info = ServiceInfo(service, f"{instance}.{service}", addresses=[socket.inet_aton(address)], port=port,
                   properties=txt, server=f"{instance.lower().replace(' ', '-')}.local.")
zc.register_service(info)
print("registered", flush=True)
done = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: done.set())
threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
done.wait()
zc.unregister_service(info)
zc.close()
