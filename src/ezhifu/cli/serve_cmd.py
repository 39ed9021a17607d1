"""``ezhifu serve CONFIG``: one party's 电子凭证库 as an HTTP service (docs/service.md)."""

from __future__ import annotations

from pathlib import Path

import click

from ezhifu.cli.common import handle_errors

__all__ = ["command"]


@click.command("serve")
@click.argument("config", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--port", type=click.IntRange(0, 65535), default=None, help="Override [server].port.")
@handle_errors
def command(config: Path, port: int | None) -> None:
    """Serve the 凭证库 operations (SOAP at /realware/services/..., WSDL at ?wsdl), the JSON API
    (/api/v1/..., OpenAPI at /api/v1/openapi.json), /healthz and /readyz, and deliver messages
    to the peers configured in CONFIG. Stops gracefully on Ctrl-C or SIGTERM.
    """
    # reason: uvicorn and starlette load only for this verb
    from ezhifu.service.server import serve

    serve(config, port=port)
