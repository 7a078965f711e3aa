"""The serving benchmark's HTTP/1.1 client on asyncio streams (keep-alive, cookies, paced bodies),
the log-in through the real form, and the percentile its figures use."""

import asyncio
import math
import re
import socket

from .serving_data import PASSWORD, BenchError

HOST = "127.0.0.1"
PORT = 8180


# ---------------------------------------------------------------------------------------------
# A small HTTP/1.1 client on asyncio streams (keep-alive, cookies, paced bodies)


class Http:
    """One keep-alive connection to nginx, with its own cookies (one phone)."""

    def __init__(self, *, rcvbuf: int | None = None, sndbuf: int | None = None, forwarded: str = ""):
        self.rcvbuf, self.sndbuf, self.forwarded = rcvbuf, sndbuf, forwarded
        self.cookies: dict[str, str] = {}
        self.reader = self.writer = None

    async def open(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if self.rcvbuf:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.rcvbuf)
        if self.sndbuf:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.sndbuf)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (HOST, PORT))
        self.reader, self.writer = await asyncio.open_connection(sock=sock, limit=256 * 1024)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None

    def head(self, method: str, path: str, headers: dict | None = None, length: int | None = None) -> bytes:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{PORT}", "User-Agent: bench-serving"]
        if self.forwarded:  # nginx appends its own peer; the portal trusts only that proxy's word
            lines.append(f"X-Forwarded-For: {self.forwarded}")
        if self.cookies:
            lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        for key, value in (headers or {}).items():
            lines.append(f"{key}: {value}")
        if length is not None:
            lines.append(f"Content-Length: {length}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    async def send(self, method: str, path: str, headers: dict | None = None, body: bytes | None = None):
        if self.writer is None:
            await self.open()
        data = self.head(method, path, headers, None if body is None else len(body))
        self.writer.write(data + (body or b""))
        await self.writer.drain()

    async def read_head(self) -> tuple[int, dict[str, str]]:
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if not line:
                continue
            key, _, value = line.partition(":")
            key, value = key.strip().lower(), value.strip()
            if key == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
            headers[key] = value
        return status, headers

    async def read_body(self, headers: dict[str, str]) -> bytes:
        if headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readuntil(b"\r\n")
                    return b"".join(parts)
                parts.append(await self.reader.readexactly(size))
                await self.reader.readexactly(2)
        return await self.reader.readexactly(int(headers.get("content-length", "0")))

    async def start(self, method: str, path: str, headers: dict | None = None, body: bytes | None = None):
        """Send a request and read the head of its answer. A kept-alive connection the server closed
        while it was idle (nginx's keepalive_timeout, e.g. after a paused video) is replaced and the
        request sent again once, as browsers do; any other failure is the caller's."""
        reused = self.writer is not None
        try:
            await self.send(method, path, headers, body)
            return await self.read_head()
        except (asyncio.IncompleteReadError, ConnectionResetError, BrokenPipeError) as exc:
            if not reused or (isinstance(exc, asyncio.IncompleteReadError) and exc.partial):
                raise
            self.close()
            await self.send(method, path, headers, body)
            return await self.read_head()

    async def request(self, method: str, path: str, headers: dict | None = None, body: bytes | None = None):
        status, response_headers = await self.start(method, path, headers, body)
        data = await self.read_body(response_headers)
        if response_headers.get("connection", "").lower() == "close":
            self.close()
        return status, response_headers, data

    def csrf_headers(self) -> dict:
        return {"X-CSRFToken": self.cookies.get("csrftoken", ""), "Origin": f"http://{HOST}:{PORT}"}


CSRF_FIELD = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')


async def login_form(client: Http, mobile: str) -> None:
    """Log in through the real form: GET it (CSRF cookie and field), POST mobile and password."""
    status, _, page = await client.request("GET", "/login/")
    match = CSRF_FIELD.search(page)
    if status != 200 or not match:
        raise BenchError(f"log-in page: {status}")
    body = f"csrfmiddlewaretoken={match.group(1).decode()}&username={mobile}&password={PASSWORD}".encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded", **client.csrf_headers()}
    status, response_headers, _ = await client.request("POST", "/login/", headers, body)
    if status != 302 or "sessionid" not in client.cookies:
        raise BenchError(f"log-in of {mobile}: {status} {response_headers.get('location')}")


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)  # nearest rank
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]
