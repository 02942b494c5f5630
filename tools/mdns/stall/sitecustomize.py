"""Test shim: python3-zeroconf on a loaded machine. Put this folder on PYTHONPATH and python imports it at start-up;
closing a Zeroconf (sync close() or AsyncZeroconf.async_close()) then first waits ZEROCONF_STALL_BEFORE_CLOSE seconds,
as when the advertiser's main thread is not scheduled between its unregistration and its close. Meanwhile its event
loop runs on: goodbyes and answers it has queued still go out."""
import asyncio
import os
import time

_stall = float(os.environ.get("ZEROCONF_STALL_BEFORE_CLOSE", "0"))
if _stall > 0:
    import zeroconf
    import zeroconf.asyncio

    _close = zeroconf.Zeroconf.close
    _async_close = zeroconf.asyncio.AsyncZeroconf.async_close

    def _stalled_close(self):
        time.sleep(_stall)
        _close(self)

    async def _stalled_async_close(self):
        await asyncio.sleep(_stall)
        await _async_close(self)

    zeroconf.Zeroconf.close = _stalled_close
    zeroconf.asyncio.AsyncZeroconf.async_close = _stalled_async_close
