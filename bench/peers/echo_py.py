"""echo_py.py: Python peer of the TCP echo entries, on asyncio's own loop
(runtime asyncio) or uvloop's (runtime uvloop, python3-uvloop).

The fast idiomatic way: a Protocol whose data_received writes the bytes
straight back to its transport (no stream reader/writer objects or task
per connection in between). Both loops set TCP_NODELAY on accepted
sockets themselves. Run under Debian's /usr/bin/python3 (3.11).

    echo_py.py asyncio|uvloop PORT      serves 127.0.0.1:PORT until killed
"""
import asyncio
import sys


class Echo(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)


async def main(port):
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Echo, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("asyncio", "uvloop"):
        sys.exit("usage: echo_py.py asyncio|uvloop PORT")
    if sys.argv[1] == "uvloop":
        import uvloop
        uvloop.install()
    asyncio.run(main(int(sys.argv[2])))
