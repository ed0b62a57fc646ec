"""Record the LDAP traffic of one client command through a loopback relay.

Usage:
    python capture_ldap.py NAME OUTDIR [--upstream 127.0.0.2:389] [--first-exchange] -- COMMAND...

The relay listens on 127.0.0.1 on an ephemeral port, and every `{url}` in
COMMAND is replaced by `ldap://127.0.0.1:PORT`. It relays each accepted
connection to the upstream server and writes the octets of each direction
to OUTDIR/NAME.client.ber and OUTDIR/NAME.server.ber. With --first-exchange
only the first complete LDAPMessage of each direction is kept, which cuts a
StartTLS session before the TLS handshake. Test-only: it relays to loopback
addresses only.
"""

from __future__ import annotations

import argparse
import ipaddress
import socket
import subprocess
import sys
import threading
from pathlib import Path


def pump(source: socket.socket, target: socket.socket, record: bytearray) -> None:
    """Copy octets from `source` to `target` until EOF, appending them to `record`."""
    while True:
        try:
            data = source.recv(65536)
        except OSError:
            data = b""
        if not data:
            break
        record += data
        try:
            target.sendall(data)
        except OSError:
            break
    for sock in (source, target):
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def first_message(stream: bytes) -> bytes:
    """Return the first complete top-level TLV of `stream` (definite length only)."""
    if len(stream) < 2:
        return b""
    first = stream[1]
    if first < 0x80:
        return stream[: 2 + first]
    count = first & 0x7F
    length = int.from_bytes(stream[2 : 2 + count], "big")
    return stream[: 2 + count + length]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name")
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--upstream", default="127.0.0.2:389")
    parser.add_argument("--first-exchange", action="store_true")
    argv = sys.argv[1:]
    if "--" not in argv:
        parser.error("separate COMMAND from the options with --")
    split = argv.index("--")
    args = parser.parse_args(argv[:split])
    command = argv[split + 1 :]

    host, port = args.upstream.rsplit(":", 1)
    if not ipaddress.ip_address(host).is_loopback:
        parser.error(f"--upstream must be a loopback address (got {host})")

    listener = socket.create_server(("127.0.0.1", 0))
    url = f"ldap://127.0.0.1:{listener.getsockname()[1]}"
    client_record = bytearray()
    server_record = bytearray()

    def serve() -> None:
        client, _ = listener.accept()
        upstream = socket.create_connection((host, int(port)))
        threads = [
            threading.Thread(target=pump, args=(client, upstream, client_record)),
            threading.Thread(target=pump, args=(upstream, client, server_record)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        client.close()
        upstream.close()

    server_thread = threading.Thread(target=serve, daemon=True)
    server_thread.start()
    completed = subprocess.run([part.replace("{url}", url) for part in command], check=False)
    server_thread.join(timeout=10)
    listener.close()

    client_bytes, server_bytes = bytes(client_record), bytes(server_record)
    if args.first_exchange:
        client_bytes, server_bytes = first_message(client_bytes), first_message(server_bytes)
    args.outdir.mkdir(parents=True, exist_ok=True)
    (args.outdir / f"{args.name}.client.ber").write_bytes(client_bytes)
    (args.outdir / f"{args.name}.server.ber").write_bytes(server_bytes)
    print(
        f"{args.name}: command exit {completed.returncode}, "
        f"client {len(client_bytes)} octets, server {len(server_bytes)} octets",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
