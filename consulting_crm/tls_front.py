"""crm's TLS front: TLS for an embedded PostgreSQL built without OpenSSL.

``python -m consulting_crm.tls_front`` listens where BI tools connect (serve.listen:serve.port)
and forwards every connection to the real server on 127.0.0.1. It speaks only the start of the
PostgreSQL wire protocol: a client's first message is 8 bytes; an SSLRequest is answered ``S``
and the TLS handshake follows (with the certificate `crm db serve` made); a GSSENCRequest is
answered ``N`` (the client then sends its next first message); anything else (a StartupMessage
or a CancelRequest) is the start of a plain connection. From then on bytes are copied both ways
unchanged, so the real server still asks for the password (scram-sha-256 in its pg_hba.conf).

Bounded: one asyncio task pair per connection, at most ``MAX_CONNECTIONS`` at once, reads of at
most ``CHUNK`` bytes and a write waits until the other side took the last one (no buffering
beyond that); when either side closes, both are closed. Standard library only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import socket
import ssl
import struct
import sys
from pathlib import Path

__all__ = ["GSSENC_REQUEST", "SSL_REQUEST", "main", "serve"]

SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
MAX_CONNECTIONS = 200
CHUNK = 64 * 1024
HANDSHAKE_TIMEOUT = 30.0  # seconds a client may take to send its first messages and shake hands
_NEGOTIATIONS = 3  # first messages read before the startup packet: GSSENC, SSL, then startup

log = logging.getLogger("consulting_crm.tls_front")


def tls_context(certificate: Path, key: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certificate, key)
    # libpq 17+ offers ALPN "postgresql" and may insist on getting it back.
    context.set_alpn_protocols(["postgresql"])
    return context


async def _read_exactly(sock: socket.socket, size: int) -> bytes:
    """Read exactly ``size`` bytes from the raw socket, never more (nothing is read ahead, so no
    clear-text byte sent after an SSLRequest can end up inside the TLS session)."""
    loop = asyncio.get_running_loop()
    data = b""
    while len(data) < size:
        chunk = await loop.sock_recv(sock, size - len(data))
        if not chunk:
            raise ConnectionError("the client closed the connection")
        data += chunk
    return data


async def _negotiate(sock: socket.socket) -> tuple[bool, bytes]:
    """Answer the client's SSL and GSSENC requests; return (TLS asked for, first bytes to pass
    on: b'' after TLS, else the 8 bytes that start the plain startup or cancel message)."""
    loop = asyncio.get_running_loop()
    for _ in range(_NEGOTIATIONS):
        first = await _read_exactly(sock, 8)
        length, code = struct.unpack("!ii", first)
        if length == 8 and code == SSL_REQUEST:
            await loop.sock_sendall(sock, b"S")
            return True, b""
        if length == 8 and code == GSSENC_REQUEST:
            await loop.sock_sendall(sock, b"N")
            continue
        return False, first
    raise ConnectionError("too many encryption requests")


async def _pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    while data := await source.read(CHUNK):
        sink.write(data)
        await sink.drain()  # back-pressure: read no more until the other side took this


async def _handle(sock: socket.socket, context: ssl.SSLContext, upstream_port: int) -> None:
    loop = asyncio.get_running_loop()
    peer = "?"
    writers: list[asyncio.StreamWriter] = []
    try:
        peer = str(sock.getpeername()[0])
        use_tls, first = await asyncio.wait_for(_negotiate(sock), HANDSHAKE_TIMEOUT)
        reader = asyncio.StreamReader(limit=CHUNK, loop=loop)
        protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
        transport, _ = await loop.connect_accepted_socket(
            lambda: protocol,
            sock,
            ssl=context if use_tls else None,
            ssl_handshake_timeout=HANDSHAKE_TIMEOUT if use_tls else None,
        )
        client = asyncio.StreamWriter(transport, protocol, reader, loop)
        writers.append(client)
        up_reader, upstream = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", upstream_port, limit=CHUNK), HANDSHAKE_TIMEOUT
        )
        writers.append(upstream)
        if first:
            upstream.write(first)
        pumps = [
            asyncio.create_task(_pump(reader, upstream)),
            asyncio.create_task(_pump(up_reader, client)),
        ]
        _, pending = await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pumps, return_exceptions=True)
    except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:  # SSLError is an OSError
        log.info("connection from %s ended: %s", peer, exc or type(exc).__name__)
    finally:
        for writer in writers:
            writer.close()
        for writer in writers:
            with contextlib.suppress(Exception):
                await writer.wait_closed()
        if not writers:
            sock.close()


def _listening_sockets(listen: str, port: int) -> list[socket.socket]:
    """Sockets on every address of ``listen`` (comma separated, as PostgreSQL's
    listen_addresses: ``*`` means every interface)."""
    sockets: list[socket.socket] = []
    for address in [part.strip() for part in listen.split(",") if part.strip()]:
        if address == "*":
            dual = socket.has_dualstack_ipv6()
            family = socket.AF_INET6 if dual else socket.AF_INET
            sockets.append(socket.create_server(("", port), family=family, dualstack_ipv6=dual))
            continue
        seen: set[tuple[int, str]] = set()
        for family, _, _, _, sockaddr in socket.getaddrinfo(
            address, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        ):
            key = (int(family), str(sockaddr[0]))
            if key in seen:
                continue
            seen.add(key)
            sockets.append(socket.create_server((str(sockaddr[0]), port), family=family))
    for sock in sockets:
        sock.setblocking(False)
    return sockets


async def _accept(
    listener: socket.socket,
    context: ssl.SSLContext,
    upstream_port: int,
    slots: asyncio.Semaphore,
    tasks: set[asyncio.Task[None]],
) -> None:
    loop = asyncio.get_running_loop()
    while True:
        sock, _ = await loop.sock_accept(listener)
        if slots.locked():
            log.warning("more than %d connections at once: refusing one", MAX_CONNECTIONS)
            sock.close()
            continue
        sock.setblocking(False)
        await slots.acquire()
        task = asyncio.create_task(_handle(sock, context, upstream_port))
        tasks.add(task)

        def done(finished: asyncio.Task[None]) -> None:
            tasks.discard(finished)
            slots.release()

        task.add_done_callback(done)


async def serve(
    listen: str,
    port: int,
    upstream_port: int,
    certificate: Path,
    key: Path,
    pid_file: Path | None = None,
    user: str | None = None,
) -> None:
    """Serve until SIGTERM or SIGINT; write ``pid_file`` once listening, remove it on the way
    out. With ``user`` (crm runs as root), run as that system user once the certificate is read
    and the sockets are bound: nothing that faces the network runs as root."""
    context = tls_context(certificate, key)
    listeners = _listening_sockets(listen, port)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    slots = asyncio.Semaphore(MAX_CONNECTIONS)
    tasks: set[asyncio.Task[None]] = set()
    acceptors = [
        asyncio.create_task(_accept(listener, context, upstream_port, slots, tasks))
        for listener in listeners
    ]
    if pid_file is not None:
        # Opened before giving up root (crm's home is root's), written after: whoever sees the
        # pid sees a front that listens and no longer runs as root. One small write: the file
        # is empty or whole.
        descriptor = os.open(pid_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        if user is not None:
            _become(user)
        os.write(descriptor, f"{os.getpid()}\n".encode("ascii"))
        os.close(descriptor)
    elif user is not None:
        _become(user)
    log.info("listening on %s:%d, forwarding to 127.0.0.1:%d", listen, port, upstream_port)
    try:
        await stop.wait()
    finally:
        for task in [*acceptors, *tasks]:
            task.cancel()
        await asyncio.gather(*acceptors, *tasks, return_exceptions=True)
        for listener in listeners:
            listener.close()
        if pid_file is not None:
            with contextlib.suppress(OSError):
                if pid_file.read_text(encoding="ascii").strip() == str(os.getpid()):
                    pid_file.unlink()
        log.info("stopped")


def _become(user: str) -> None:
    import pwd

    entry = pwd.getpwnam(user)
    os.setgroups([])
    os.setgid(entry.pw_gid)
    os.setuid(entry.pw_uid)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m consulting_crm.tls_front")
    parser.add_argument("--listen", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream-port", type=int, required=True)
    parser.add_argument("--certificate", type=Path, required=True)
    parser.add_argument("--key", type=Path, required=True)
    parser.add_argument("--pid-file", type=Path)
    parser.add_argument("--user", help="system user to run as once listening (from root)")
    args = parser.parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format="%(asctime)s tls-front %(message)s"
    )
    asyncio.run(
        serve(
            args.listen,
            args.port,
            args.upstream_port,
            args.certificate,
            args.key,
            args.pid_file,
            args.user,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
