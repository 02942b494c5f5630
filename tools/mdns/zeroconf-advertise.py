#!/usr/bin/python3
"""Advertise one DNS-SD service with python3-zeroconf until stdin closes or SIGTERM; its last packet is a goodbye.
Usage: zeroconf-advertise.py SERVICE_TYPE INSTANCE PORT INTERFACE_ADDRESS [key=value ...]"""
import asyncio, signal, socket, sys, threading
from zeroconf import IPVersion, ServiceInfo
from zeroconf.asyncio import AsyncZeroconf

# python3-zeroconf (0.47) still multicasts the answers it queued before an unregistration, after its goodbyes: it holds
# an answer up to 1.2 s (RFC 6762 section 6: 20-120 ms, aggregated for up to 500 ms; one second more, aggregated up to
# 1.2 s, for records it multicast within the last second). A browser that hears one after the goodbye keeps the
# instance (section 10.1), so the advertiser outlasts them and says goodbye once more.
HELD_ANSWERS_S = 1.6


async def main():
    service, instance, port, address = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    txt = dict(kv.split("=", 1) for kv in sys.argv[5:])
    aiozc = AsyncZeroconf(interfaces=[address], ip_version=IPVersion.V4Only)
    info = ServiceInfo(service, f"{instance}.{service}", addresses=[socket.inet_aton(address)], port=port,
                       properties=txt, server=f"{instance.lower().replace(' ', '-')}.local.")
    await (await aiozc.async_register_service(info))  # probes, then the three announcements
    print("registered", flush=True)

    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, done.set)
    threading.Thread(target=lambda: (sys.stdin.read(), loop.call_soon_threadsafe(done.set)), daemon=True).start()
    await done.wait()

    # No timeouts here (the sync API's raise EventLoopBlocked on a loaded machine): every step is awaited in order.
    await (await aiozc.async_unregister_service(info))  # three goodbyes, 125 ms apart
    await asyncio.sleep(HELD_ANSWERS_S)
    aiozc.zeroconf.async_send(aiozc.zeroconf.generate_service_broadcast(info, 0))  # the last word
    await aiozc.async_close()


asyncio.run(main())
