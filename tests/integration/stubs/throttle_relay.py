#!/usr/bin/env python3
"""A slow TCP relay for long-job tests (127.0.0.1 only).

throttle_relay.py TARGET_PORT DELAY_MS: listens on a random 127.0.0.1 port
(printed on stdout) and relays every connection to 127.0.0.1:TARGET_PORT.
Each chunk the client sends waits DELAY_MS under one global lock before it
is forwarded, so the server sees at most about 1000/DELAY_MS requests a
second however many connections the client opens: a job of N rows lasts
about N * DELAY_MS ms, cheaply and independently of the machine's speed.
"""
import asyncio
import sys


async def main():
    target, delay = int(sys.argv[1]), int(sys.argv[2]) / 1000.0
    gate = asyncio.Lock()

    async def pump(reader, writer, slow):
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                if slow:
                    async with gate:
                        await asyncio.sleep(delay)
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            try:
                writer.close()
            except Exception:
                pass

    async def serve(creader, cwriter):
        try:
            sreader, swriter = await asyncio.open_connection("127.0.0.1", target)
        except OSError:
            cwriter.close()
            return
        await asyncio.gather(pump(creader, swriter, True), pump(sreader, cwriter, False))

    srv = await asyncio.start_server(serve, "127.0.0.1", 0)
    print(srv.sockets[0].getsockname()[1], flush=True)
    async with srv:
        await srv.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
