"""ezhifu.service: one party's 电子凭证库 as an HTTP service (``ezhifu serve CONFIG``).

* :mod:`~ezhifu.service.config`: the TOML configuration, checked;
* :mod:`~ezhifu.service.runtime`: keystore/SafeBox, trust, store, transport, library, flusher;
* :mod:`~ezhifu.service.operations`: each 凭证库 operation (spec.md §6) → a library call, with
  the EVS faults;
* :mod:`~ezhifu.service.wsdl`: the WSDL from the one operations table;
* :mod:`~ezhifu.service.jsonapi`: the JSON API and its OpenAPI document;
* :mod:`~ezhifu.service.oplog`: the operation log;
* :mod:`~ezhifu.service.app` / :mod:`~ezhifu.service.server`: Starlette + uvicorn.

See docs/service.md.
"""

from __future__ import annotations

__all__: list[str] = []
