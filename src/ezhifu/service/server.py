"""Running a service: uvicorn with the configured address, TLS, limits and graceful shutdown.

uvicorn (maintained, ASGI, HTTP/1.1 with h11) serves the Starlette application; on SIGINT or
SIGTERM it stops accepting, lets running requests finish (``timeout_graceful_shutdown``), then
the application's lifespan stops the outbox flusher and closes the store and keystore.
With ``[server].tls_cert``/``tls_key`` the service speaks HTTPS; with ``tls_client_ca`` it
requires client certificates from that CA, and the same certificate and CA are used for the
service's own deliveries to its peers (mutual TLS both ways).
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path

import uvicorn

from ezhifu.service.app import create_app
from ezhifu.service.config import ServiceConfig, load_service_config
from ezhifu.service.runtime import Runtime

__all__ = ["client_ssl_context", "serve"]

MAX_CONNECTIONS = 256
GRACEFUL_SECONDS = 10


def client_ssl_context(config: ServiceConfig) -> ssl.SSLContext | None:
    """The TLS context for deliveries to peers (client certificate = the service's own)."""
    if config.tls_cert is None or config.tls_key is None:
        return None
    context = ssl.create_default_context(cafile=str(config.tls_client_ca) if config.tls_client_ca else None)
    context.load_cert_chain(str(config.tls_cert), str(config.tls_key))
    return context


def serve(path: str | os.PathLike[str], *, port: int | None = None) -> None:
    """Load ``path``, build the runtime and serve until interrupted."""
    config = load_service_config(Path(path))
    runtime = Runtime(config, ssl_context=client_ssl_context(config))
    options: dict[str, object] = {}
    if config.tls_cert is not None:
        options.update(ssl_certfile=str(config.tls_cert), ssl_keyfile=str(config.tls_key))
        if config.tls_client_ca is not None:
            options.update(ssl_ca_certs=str(config.tls_client_ca), ssl_cert_reqs=ssl.CERT_REQUIRED)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(runtime),
            host=config.host,
            port=config.port if port is None else port,
            limit_concurrency=MAX_CONNECTIONS,
            timeout_keep_alive=5,
            timeout_graceful_shutdown=GRACEFUL_SECONDS,
            log_level="warning",
            access_log=False,
            **options,  # type: ignore[arg-type]
        )
    )
    server.run()
