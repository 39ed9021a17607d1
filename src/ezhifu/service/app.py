"""The Starlette application of ``ezhifu serve`` (docs/service.md).

Routes:

* ``POST /realware/services/{AsspCBankService,AsspPBankService,AsspFinanceService}``: the 凭证库
  operations as SOAP 1.1 rpc/encoded (:mod:`ezhifu.client.soapenc`); ``GET …?wsdl`` the WSDL;
* ``POST /ezhifu/messages``: messages from peer libraries (:class:`~ezhifu.client.transport.HttpTransport`),
  processed in one store transaction and answered 200 only when the outcome is committed
  (a peer may send only the VtCodes of its ``[peers.ID].vt_codes``: the library refuses others);
* the JSON API (:mod:`ezhifu.service.jsonapi`), ``/healthz`` and ``/readyz``.

Every request body is bounded by ``[server].max_request_bytes`` (read in chunks, refused as
soon as it is exceeded) and every operation by ``request_timeout`` (answered with EVS999 when
exceeded). Library work runs in the thread pool; the library itself is used by one thread at a
time (:meth:`Runtime.locked`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ezhifu.client.operations import SERVICE_PATHS
from ezhifu.client.operations import operation as lookup
from ezhifu.client.soapenc import SoapValue, decode_request, encode_fault, encode_response
from ezhifu.client.transport import MESSAGES_PATH
from ezhifu.errors import EzhifuError, InvalidParameter, RequestRejected, ServiceFault
from ezhifu.service import jsonapi
from ezhifu.service.operations import dispatch
from ezhifu.service.runtime import Runtime
from ezhifu.service.wsdl import build_wsdl

__all__ = ["create_app"]

T = TypeVar("T")
_XML = "text/xml; charset=utf-8"


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestRejected(f"request body of {declared} bytes exceeds {limit} bytes / 请求过大")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestRejected(f"request body exceeds {limit} bytes / 请求过大")
        chunks.append(chunk)
    return b"".join(chunks)


def _call_fields(name: str, args: list[SoapValue]) -> dict[str, object]:
    """What the operation log records of a call: certID, VtCode, how many vouchers (no content)."""
    op = lookup(name)
    if op is None or len(args) != len(op.params):
        return {}
    named = dict(zip(op.param_names(), args, strict=True))
    fields: dict[str, object] = {
        "cert_id": named.get("certID", named.get("certid")),
        "vt_code": named.get("vtCode"),
    }
    numbers = named.get("voucherNos")
    if isinstance(numbers, list):
        fields["vouchers"] = len(numbers)
    return fields


def _receive(rt: Runtime, data: bytes) -> dict[str, Any]:
    with rt.locked() as lib:
        outcome = lib.receive_bytes(data)
    return {"accepted": outcome.accepted, "detail": outcome.detail[:500], "duplicate": outcome.duplicate}


class _Handlers:
    """The route handlers of one service (``rt`` and its configuration)."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.config = rt.config

    async def run(self, func: Callable[..., T], *args: Any) -> T:
        try:
            return await asyncio.wait_for(run_in_threadpool(func, *args), timeout=self.config.request_timeout)
        except TimeoutError as exc:
            raise ServiceFault(f"no answer within {self.config.request_timeout}s / 处理超时") from exc

    def log(self, kind: str, started: float, **fields: object) -> None:
        self.rt.oplog.event(kind, ms=round((time.perf_counter() - started) * 1000, 2), **fields)

    async def soap(self, request: Request) -> Response:
        started = time.perf_counter()
        if request.method == "GET":
            if "wsdl" not in {k.lower() for k in request.query_params}:
                return Response("GET ?wsdl for the WSDL; operations are POSTed", media_type="text/plain")
            name = request.url.path.rsplit("/", 1)[-1]
            return Response(build_wsdl(name, str(request.url.replace(query=""))), media_type=_XML)
        operation = "?"
        who: dict[str, object] = {}
        try:
            data = await _read_body(request, self.config.max_request_bytes)
            call = decode_request(data)
            operation = call.operation
            who = _call_fields(call.operation, call.args)
            value = await self.run(dispatch, self.rt, call.operation, call.args)
            op = lookup(operation)
            body = encode_response(
                operation, value, namespace=call.namespace, void=op is None or op.returns == "void"
            )
            self.log("soap", started, operation=operation, outcome="ok", **who)
            return Response(body, media_type=_XML)
        except ServiceFault as fault:
            self.log("soap", started, operation=operation, outcome=fault.code, detail=fault.detail, **who)
            return Response(encode_fault(fault.fault_string()), status_code=500, media_type=_XML)
        except EzhifuError as exc:
            refused = InvalidParameter(f"{type(exc).__name__}: {exc}")
            self.log("soap", started, operation=operation, outcome=refused.code, detail=refused.detail, **who)
            return Response(
                encode_fault(refused.fault_string(), faultcode="soapenv:Client"),
                status_code=500,
                media_type=_XML,
            )

    async def messages(self, request: Request) -> Response:
        started = time.perf_counter()
        try:
            data = await _read_body(request, self.config.max_request_bytes)
            result = await self.run(_receive, self.rt, data)
        except ServiceFault as fault:
            self.log("message", started, outcome=fault.code)
            return JSONResponse({"fault": {"code": fault.code, "message": str(fault)}}, status_code=413)
        self.log(
            "message",
            started,
            outcome="accepted" if result["accepted"] else "rejected",
            duplicate=result["duplicate"],
        )
        return JSONResponse(result)

    async def json_call(self, request: Request, work: Callable[[bytes], Any], what: str) -> Response:
        started = time.perf_counter()
        try:
            data = await _read_body(request, self.config.max_request_bytes)
            result = await self.run(work, data)
        except ServiceFault as fault:
            self.log("json", started, operation=what, outcome=fault.code, detail=fault.detail)
            return JSONResponse({"fault": {"code": fault.code, "message": str(fault)}}, status_code=422)
        except EzhifuError as exc:
            refused = InvalidParameter(f"{type(exc).__name__}: {exc}")
            self.log("json", started, operation=what, outcome=refused.code, detail=refused.detail)
            return JSONResponse({"fault": {"code": refused.code, "message": str(refused)}}, status_code=422)
        self.log("json", started, operation=what, outcome="ok")
        return JSONResponse(result)

    async def api_operation(self, request: Request) -> Response:
        name = str(request.path_params["name"])
        return await self.json_call(request, lambda data: jsonapi.call_operation(self.rt, name, data), name)

    async def api_validate(self, request: Request) -> Response:
        return await self.json_call(request, jsonapi.validate, "validate")

    async def api_verify(self, request: Request) -> Response:
        return await self.json_call(request, lambda data: jsonapi.verify(self.rt, data), "verify")

    async def api_status(self, request: Request) -> Response:
        q = request.query_params
        nos = q.getlist("voucherNo")
        args = (
            q.get("certID", ""),
            str(request.path_params["vt"]),
            q.get("admDivCode", ""),
            q.get("stYear", ""),
            nos,
        )
        return await self.json_call(request, lambda _data: jsonapi.status(self.rt, *args), "status")

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(jsonapi.openapi_document(f"ezhifu 凭证库 {self.config.party_id}"))

    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "ok", "party": self.config.party_id})

    async def readyz(self, request: Request) -> Response:
        def probe() -> None:
            with self.rt.locked() as lib:
                lib.store.seen("readiness-probe")  # a read that claims nothing

        try:
            await self.run(probe)
        except EzhifuError as exc:
            return JSONResponse({"status": "not ready", "reason": type(exc).__name__}, status_code=503)
        return JSONResponse({"status": "ready", "party": self.config.party_id})

    @asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        self.rt.start()
        self.rt.oplog.event("start", party=self.config.party_id, port=self.config.port)
        try:
            yield
        finally:
            self.rt.oplog.event("stop", party=self.config.party_id)
            self.rt.close()


def create_app(rt: Runtime) -> Starlette:
    h = _Handlers(rt)
    routes = [Route(path, h.soap, methods=["GET", "POST"]) for path in SERVICE_PATHS]
    routes += [
        Route(MESSAGES_PATH, h.messages, methods=["POST"]),
        Route("/api/v1/operations/{name}", h.api_operation, methods=["POST"]),
        Route("/api/v1/validate", h.api_validate, methods=["POST"]),
        Route("/api/v1/verify", h.api_verify, methods=["POST"]),
        Route("/api/v1/status/{vt}", h.api_status, methods=["GET"]),
        Route("/api/v1/openapi.json", h.openapi, methods=["GET"]),
        Route("/healthz", h.healthz, methods=["GET"]),
        Route("/readyz", h.readyz, methods=["GET"]),
    ]
    return Starlette(routes=routes, lifespan=h.lifespan)
