"""Command line: start the simulator in the foreground."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from .server import NitroSimulator, SimulatorConfig

LOG = logging.getLogger("factorgate.nitro_simulator")
PASSWORD_ENV = "NITRO_SIMULATOR_PASSWORD"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nitro_simulator", description="Run the NetScaler NITRO API simulator.")
    parser.add_argument("--address", default="127.0.0.20", help="address to listen on (default 127.0.0.20)")
    parser.add_argument("--port", type=int, default=80, help="TCP port; 0 picks a free one (default 80)")
    parser.add_argument("--user", default="nsroot", help="NITRO user name (default nsroot)")
    parser.add_argument("--password", help=f"NITRO password; default from ${PASSWORD_ENV}, else nsroot")
    parser.add_argument("--session-timeout", type=float, default=1800.0, help="idle timeout of login sessions in seconds (default 1800)")
    parser.add_argument("--state-file", type=Path, help="JSON file that keeps the configuration across restarts")
    parser.add_argument("--pid-file", type=Path, help="file to write the process id to")
    parser.add_argument("--port-file", type=Path, help="file to write the bound port to (useful with --port 0)")
    parser.add_argument("--tls-cert", type=Path, help="PEM certificate; serves HTTPS when given")
    parser.add_argument("--tls-key", type=Path, help="PEM private key for --tls-cert")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    return parser


def main(argv: list[str] | None = None) -> int:
    options = build_parser().parse_args(argv)
    logging.basicConfig(level=options.log_level, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    config = SimulatorConfig(
        address=options.address,
        port=options.port,
        username=options.user,
        password=options.password or os.environ.get(PASSWORD_ENV, "nsroot"),
        session_timeout=options.session_timeout,
        state_file=options.state_file,
        tls_cert=options.tls_cert,
        tls_key=options.tls_key,
    )
    simulator = NitroSimulator(config)
    try:
        _, port = simulator.bind()
    except OSError as error:
        LOG.error("cannot listen on %s:%s: %s (port 80 needs root; use --port 0 for a free port)", options.address, options.port, error)
        return 1
    if options.pid_file:
        options.pid_file.write_text(f"{os.getpid()}\n")
    if options.port_file:
        options.port_file.write_text(f"{port}\n")

    def stop(signum: int, frame: FrameType | None) -> None:
        LOG.info("received signal %s, stopping", signum)
        threading.Thread(target=simulator.stop, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        simulator.serve_forever()
    finally:
        if options.pid_file:
            options.pid_file.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
