"""`factorgate serve`: build the node from its configuration and run it.

Order matters. The listening sockets are bound first, because ports 389 and
636 need root or CAP_NET_BIND_SERVICE. Then privileges are dropped, and only
then are the store and the key file opened, so every file the node writes
belongs to the service account.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pwd
import grp
import resource
import signal
import socket
import ssl

from factorgate.auth.pipeline import Pipeline, PipelinePolicy
from factorgate.auth.second_factor import SecondFactors
from factorgate.config import Config
from factorgate.factors.runtime import FactorRuntime
from factorgate.directory.bindcheck import AdBindChecker
from factorgate.directory.names import ad_bind_name
from factorgate.directory.resolver import ExemptRules, Resolver
from factorgate.factors.secretbox import SecretBox
from factorgate.factors.totp_verifier import TotpVerifier
from factorgate.ldap.ber import Limits
from factorgate.ldap.server import BoundListener, ConnectionLimits, LdapServer, bind_listener
from factorgate.ldap.session import SessionSettings
from factorgate.ldap.upstream import DomainController, UpstreamSettings
from factorgate.radius.clients import ClientTable, RadiusClient
from factorgate.radius.handler import HandlerSettings, RadiusHandler
from factorgate.radius.server import RadiusServer, bind_radius_socket
from factorgate.store.sqlite import SqliteStore

log = logging.getLogger("factorgate")


def run(config: Config, user: str | None = None) -> int:
    """Serve until SIGTERM or SIGINT; return the process exit code."""
    configure_logging(config.logging.level)
    raise_open_files_limit()
    for warning in config.warnings():
        log.warning("insecure setting: %s", warning)

    listeners = [bind_listener(item.address, item.port, item.tls == "ldaps") for item in config.ldap.listen]
    radius_sockets = bind_radius_sockets(config)
    server_tls = build_server_tls(config)
    if user:
        drop_privileges(user)

    return asyncio.run(serve(config, listeners, server_tls, radius_sockets))


def bind_radius_sockets(config: Config) -> list[socket.socket]:
    """Bind the RADIUS sockets, or none when no RADIUS client is configured."""
    if not config.radius.enabled:
        return []
    return [bind_radius_socket(item.address, item.port) for item in config.radius.listen]


async def serve(
    config: Config,
    listeners: list[BoundListener],
    server_tls: ssl.SSLContext | None,
    radius_sockets: list[socket.socket] | None = None,
) -> int:
    store = SqliteStore(config.paths.database_file, SecretBox.from_key_file(config.paths.key_file))
    factor_runtime = FactorRuntime(config, store)
    await factor_runtime.start()
    pipeline, resolver = build_pipeline_and_resolver(config, store, factor_runtime.factors)
    session_settings = build_session_settings(config, server_tls)
    server = LdapServer(session_settings, pipeline, server_tls, config.ldap.idle_timeout, connection_limits(config))
    await server.start(listeners)

    radius_server, bind_checker = None, None
    if radius_sockets:
        bind_checker = AdBindChecker(session_settings.upstream, config.radius.bind_pool_size)
        radius_server = RadiusServer(build_radius_handler(config, pipeline, resolver, bind_checker))
        await radius_server.start(radius_sockets)
    log.info("node %s ready", config.node.name)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()

    log.info("node %s draining (up to %s s)", config.node.name, config.ldap.drain_timeout)
    drains = [server.drain(config.ldap.drain_timeout)]
    if radius_server is not None:
        drains.append(radius_server.drain(config.ldap.drain_timeout))
    await asyncio.gather(*drains)
    if bind_checker is not None:
        await bind_checker.close()
    await factor_runtime.close()
    store.close()
    log.info("node %s stopped", config.node.name)
    return 0


def build_pipeline(config: Config, store: SqliteStore) -> Pipeline:
    return build_pipeline_and_resolver(config, store)[0]


def build_pipeline_and_resolver(config: Config, store: SqliteStore,
                                factors: SecondFactors | None = None) -> tuple[Pipeline, Resolver]:
    from factorgate.directory.lookup import AdLookup

    exempt = config.mfa.exempt
    resolver = Resolver(
        store,
        AdLookup(config.directory),
        ExemptRules.build(list(exempt.dns), list(exempt.groups), list(exempt.ous)),
        netbios_domain=config.directory.netbios_domain,
        upn_suffixes=tuple(config.directory.upn_suffixes),
        cache_ttl=config.directory.cache_ttl,
    )
    verifier = TotpVerifier(store, window=config.mfa.totp.window)
    policy = PipelinePolicy(
        require_user_match=config.mfa.require_user_match,
        code_delimiter=config.mfa.code_delimiter.encode("utf-8"),
    )
    return Pipeline(resolver, store, verifier, policy, factors), resolver


def build_radius_handler(config: Config, pipeline: Pipeline, resolver: Resolver, checker: AdBindChecker) -> RadiusHandler:
    radius = config.radius
    settings = HandlerSettings(
        retransmit_cache_entries=radius.retransmit_cache_entries,
        retransmit_cache_ttl=radius.retransmit_cache_ttl,
        state_ttl=radius.state_ttl,
        max_pending_challenges=radius.max_pending_challenges,
    )
    clients = ClientTable(RadiusClient.from_config(client) for client in radius.clients)

    netbios_domain = config.directory.netbios_domain

    def primary_for(login: bytes):
        bind_name = ad_bind_name(login, netbios_domain)
        return lambda password: checker.check(bind_name, password)

    return RadiusHandler(clients, pipeline, primary_for, resolver.is_member, settings)


def build_session_settings(config: Config, server_tls: ssl.SSLContext | None) -> SessionSettings:
    ldap = config.ldap
    directory = config.directory
    upstream = UpstreamSettings(
        controllers=tuple(DomainController.parse(url) for url in directory.servers),
        start_tls=directory.start_tls,
        tls_context=build_client_tls(config),
        connect_timeout=directory.connect_timeout,
        max_message_size=ldap.max_upstream_message_size,
    )
    return SessionSettings(
        upstream=upstream,
        limits=Limits(max_message_size=ldap.max_message_size),
        require_tls=ldap.require_tls,
        cleartext_clients=tuple(ldap.cleartext_clients),
        sasl_passthrough_clients=tuple(ldap.sasl_passthrough_clients),
        pending_requests=ldap.pending_requests,
        tls_context=server_tls,
    )


def build_server_tls(config: Config) -> ssl.SSLContext | None:
    """Return the TLS context for LDAPS and StartTLS, or None when no certificate is set."""
    if not config.ldap.certificate or not config.ldap.private_key:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(config.ldap.certificate), str(config.ldap.private_key))
    return context


def build_client_tls(config: Config) -> ssl.SSLContext:
    """Return the TLS context for the hop to AD, with verification on unless switched off."""
    directory = config.directory
    context = ssl.create_default_context(cafile=str(directory.ca_file) if directory.ca_file else None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if not directory.verify_certificate:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def drop_privileges(account: str) -> None:
    """Switch to `user[:group]`; only possible (and only needed) when started as root."""
    name, _, group_name = account.partition(":")
    entry = pwd.getpwnam(name)
    gid = grp.getgrnam(group_name).gr_gid if group_name else entry.pw_gid
    if os.getuid() != 0:
        if os.getuid() == entry.pw_uid:
            return
        raise PermissionError(f"--user {account}: only root can switch to another account")
    os.setgroups([])
    os.setgid(gid)
    os.setuid(entry.pw_uid)
    log.info("dropped privileges to %s (uid %d, gid %d)", name, entry.pw_uid, gid)


# Descriptors kept free for the store, the listeners, RADIUS and AD look-ups.
RESERVED_DESCRIPTORS = 256


def connection_limits(config: Config) -> ConnectionLimits:
    """Return the configured connection caps, lowered to what the open-files limit allows.

    Each client connection can hold two descriptors, the client's and its
    upstream hop's to AD. Running out of descriptors would fail every login.
    """
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    allowed = max(1, (soft - RESERVED_DESCRIPTORS) // 2)
    total = config.ldap.max_connections
    if total > allowed:
        log.warning("ldap.max_connections lowered from %d to %d: the open-files limit is %d "
                    "(raise LimitNOFILE or ulimit -n)", total, allowed, soft)
        total = allowed
    return ConnectionLimits(total=total, per_client=min(config.ldap.max_connections_per_client, total))


def raise_open_files_limit() -> None:
    """Raise the soft open-files limit to the hard one: each client costs two descriptors."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        log.info("open-files limit raised from %d to %d", soft, hard)


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
