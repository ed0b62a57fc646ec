"""Measure how many LDAP binds can wait on a phone call at once against the test AD.

Over LDAP each waiting bind holds its client connection and an upstream
connection to AD, on which AD has already accepted the password. This script
starts one real `factorgate serve` node against the test AD (`scripts/test-ad
up`), puts carol on `voice` with a simulated phone that answers '#' after
`--answer-after` seconds, and opens `--binds` connections that each bind as
carol at once. It reports how many calls started (AD accepted the password
and the bind is waiting), how many binds finally succeeded, the node's RSS
and open descriptors while they waited, and Samba's descriptors.

    python server/bench/bench_ldap_waiting.py [--binds 1000 2000] [--answer-after 60]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPOSITORY = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPOSITORY / "server" / "tests"))
sys.path.insert(0, str(REPOSITORY / "server" / "src"))


async def bind_once(address: str, port: int, dn: bytes, password: bytes, connected: list) -> int:
    """Bind on a new connection; return the result code, or -1 when the connection failed."""
    from factorgate.ldap.messages import decode_envelope, decode_result, encode_bind_request

    try:
        reader, writer = await asyncio.open_connection(address, port)
    except OSError:
        return -1
    connected.append(1)
    try:
        writer.write(encode_bind_request(1, dn, password))
        header = await reader.readexactly(2)
        length = header[1]
        if length & 0x80:
            extra = await reader.readexactly(length & 0x7F)
            header += extra
            length = int.from_bytes(extra, "big")
        body = await reader.readexactly(length)
        return decode_result(decode_envelope(header + body)).result_code
    except (OSError, asyncio.IncompleteReadError):
        return -1
    finally:
        writer.close()


def count_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def samba_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "samba":
                    pids.append(int(entry.name))
            except OSError:
                pass
    return pids


async def run_round(node, carol: dict, binds: int, answer_after: float) -> dict:
    connected: list = []
    started = time.monotonic()
    calls_before = node.log_text.count("simulator: voice to")
    tasks = [asyncio.create_task(bind_once(node.address, node.ldap_port, carol["dn"].encode(), carol["password"].encode(),
                                           connected)) for _ in range(binds)]
    peak = {"calls": 0, "node_fds": 0, "samba_fds": 0, "node_rss_mib": 0.0}
    while time.monotonic() - started < answer_after - 2:
        await asyncio.sleep(1)
        calls = node.log_text.count("simulator: voice to") - calls_before
        if calls >= peak["calls"]:
            peak.update(calls=calls, node_fds=count_fds(node.process.pid),
                        samba_fds=sum(count_fds(pid) for pid in samba_pids()),
                        node_rss_mib=round(rss_mib(node.process.pid), 1),
                        seconds=round(time.monotonic() - started, 1))
        if calls >= binds:
            break
    codes = await asyncio.gather(*tasks)
    return {
        "binds": binds,
        "connected": len(connected),
        "waiting_at_peak": peak["calls"],
        "seconds_until_peak": peak.get("seconds"),
        "node_rss_mib_at_peak": peak["node_rss_mib"],
        "node_fds_at_peak": peak["node_fds"],
        "samba_fds_at_peak": peak["samba_fds"],
        "succeeded": codes.count(0),
        "result_codes": {str(code): codes.count(code) for code in sorted(set(codes))},
        "total_seconds": round(time.monotonic() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binds", type=int, nargs="+", default=[1000, 2000], help="concurrent binds per round")
    parser.add_argument("--answer-after", type=float, default=60.0, help="seconds before the simulated phone answers")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args()

    from ad_env import load_ad
    from support.node import Node

    ad = load_ad()
    node = Node(Path(tempfile.mkdtemp(prefix="fg-bench-ldap-waiting-")), ad)
    config = yaml.safe_load(node.config_path.read_text())
    config["ldap"]["pending_requests"] = 16
    config["factors"] = {
        "voice": {"provider": "simulator", "timeout": args.answer_after + 60},
        "prompts": {"limit": 100000, "window": 60},
        "providers": {"simulator": {"default_answer": f"slow:{args.answer_after}:#"}},
    }
    node.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    node.cli("users", "import")
    node.cli("users", "set-method", "carol", "voice")
    node.start()
    try:
        rounds = [asyncio.run(run_round(node, ad["users"]["carol"], binds, args.answer_after)) for binds in args.binds]
    finally:
        node.stop()
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "open_files_limit": os.sysconf("SC_OPEN_MAX"),
        "rounds": rounds,
    }
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
