"""The Starlette application of ``ezhifu serve`` (docs/service.md).

Routes:

* ``POST /realware/services/{AsspCBankService,AsspPBankService,AsspFinanceService}``: the 凭证库
  operations as SOAP 1.1 rpc/encoded (:mod:`ezhifu.client.soapenc`); ``GET …?wsdl`` the WSDL;
* ``POST /ezhifu/messages``: messages from peer libraries (:class:`~ezhifu.client.transport.HttpTransport`),
  processed in one store transaction and answered 200 only when the outcome is committed;
  a peer may send only the VtCodes of its ``[peers.ID].vt_codes`` (refused into the rejection log);
* the JSON API (:mod:`ezhifu.service.jsonapi`), ``/healthz`` and ``/readyz``.

Every request body is bounded by ``[server].max_request_bytes`` (read in chunks, refused as
soon as it is exceeded) and every operation by ``request_timeout`` (answered with EVS999 when
exceeded). Library work runs in the thread pool; the library itself is used by one thread at a
time (:meth:`Runtime.locked`).
"""

from __future__ import annotations

import asyncio
import time
import uuid
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
from ezhifu.client.soapenc import decode_request, encode_fault, encode_response
from ezhifu.client.transport import MESSAGES_PATH
from ezhifu.document.envelope import Envelope
from ezhifu.errors import EzhifuError, InvalidParameter, RequestRejected, ServiceFault
from ezhifu.flow.store import Rejection, utc_now
from ezhifu.flow.transport import Message
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


def _peer_refusal(rt: Runtime, data: bytes) -> tuple[Message, str] | None:
    """A message whose sender may not send its VtCodes (``[peers.ID].vt_codes``)."""
    try:
        message = Message.from_bytes(data)
    except EzhifuError:
        return None  # the library rejects it with the reason
    peer = rt.config.peers.get(message.sender)
    if peer is None or not peer.vt_codes or message.kind != "envelope":
        return None
    try:
        vt_codes = {b.vt_code for b in Envelope.from_bytes(message.payload).bodies}
    except EzhifuError:
        return None
    refused = sorted(vt_codes - peer.vt_codes)
    if not refused:
        return None
    return (
        message,
        f"peer {message.sender!r} may not send VtCode {', '.join(refused)} "
        f"(allowed: {', '.join(sorted(peer.vt_codes))})",
    )


def _receive(rt: Runtime, data: bytes) -> dict[str, Any]:
    with rt.locked() as lib:
        refusal = _peer_refusal(rt, data)
        if refusal is not None:
            message, reason = refusal
            with lib.store.transaction():
                if lib.store.seen(message.message_id) is None:
                    lib.store.add_rejection(
                        Rejection(
                            uuid.uuid4().hex,
                            message.message_id,
                            message.sender,
                            message.kind,
                            reason,
                            data,
                            utc_now(),
                        )
                    )
                    lib.store.mark_seen(message.message_id, f"rejected: {reason}"[:500])
            return {"accepted": False, "detail": reason, "duplicate": False}
        outcome = lib.receive_bytes(data)
    return {"accepted": outcome.accepted, "detail": outcome.detail[:500], "duplicate": outcome.duplicate}


def create_app(rt: Runtime) -> Starlette:
    config = rt.config

    async def run(func: Callable[..., T], *args: Any) -> T:
        try:
            return await asyncio.wait_for(run_in_threadpool(func, *args), timeout=config.request_timeout)
        except TimeoutError as exc:
            raise ServiceFault(f"no answer within {config.request_timeout}s / 处理超时") from exc

    def log(kind: str, started: float, **fields: object) -> None:
        rt.oplog.event(kind, ms=round((time.perf_counter() - started) * 1000, 2), **fields)

    async def soap(request: Request) -> Response:
        started = time.perf_counter()
        if request.method == "GET":
            if "wsdl" not in {k.lower() for k in request.query_params}:
                return Response("GET ?wsdl for the WSDL; operations are POSTed", media_type="text/plain")
            name = request.url.path.rsplit("/", 1)[-1]
            return Response(build_wsdl(name, str(request.url.replace(query=""))), media_type=_XML)
        operation = "?"
        try:
            data = await _read_body(request, config.max_request_bytes)
            call = decode_request(data)
            operation = call.operation
            value = await run(dispatch, rt, call.operation, call.args)
            op = lookup(operation)
            body = encode_response(
                operation, value, namespace=call.namespace, void=op is None or op.returns == "void"
            )
            log("soap", started, operation=operation, outcome="ok")
            return Response(body, media_type=_XML)
        except ServiceFault as fault:
            log("soap", started, operation=operation, outcome=fault.code, detail=fault.detail)
            return Response(encode_fault(fault.fault_string()), status_code=500, media_type=_XML)
        except EzhifuError as exc:
            refused = InvalidParameter(f"{type(exc).__name__}: {exc}")
            log("soap", started, operation=operation, outcome=refused.code, detail=refused.detail)
            return Response(
                encode_fault(refused.fault_string(), faultcode="soapenv:Client"),
                status_code=500,
                media_type=_XML,
            )

    async def messages(request: Request) -> Response:
        started = time.perf_counter()
        try:
            data = await _read_body(request, config.max_request_bytes)
            result = await run(_receive, rt, data)
        except ServiceFault as fault:
            log("message", started, outcome=fault.code)
            return JSONResponse({"fault": {"code": fault.code, "message": str(fault)}}, status_code=413)
        log(
            "message",
            started,
            outcome="accepted" if result["accepted"] else "rejected",
            duplicate=result["duplicate"],
        )
        return JSONResponse(result)

    async def json_call(request: Request, work: Callable[[bytes], Any], what: str) -> Response:
        started = time.perf_counter()
        try:
            data = await _read_body(request, config.max_request_bytes)
            result = await run(work, data)
        except ServiceFault as fault:
            log("json", started, operation=what, outcome=fault.code, detail=fault.detail)
            return JSONResponse({"fault": {"code": fault.code, "message": str(fault)}}, status_code=422)
        except EzhifuError as exc:
            refused = InvalidParameter(f"{type(exc).__name__}: {exc}")
            log("json", started, operation=what, outcome=refused.code, detail=refused.detail)
            return JSONResponse({"fault": {"code": refused.code, "message": str(refused)}}, status_code=422)
        log("json", started, operation=what, outcome="ok")
        return JSONResponse(result)

    async def api_operation(request: Request) -> Response:
        name = str(request.path_params["name"])
        return await json_call(request, lambda data: jsonapi.call_operation(rt, name, data), name)

    async def api_validate(request: Request) -> Response:
        return await json_call(request, jsonapi.validate, "validate")

    async def api_verify(request: Request) -> Response:
        return await json_call(request, lambda data: jsonapi.verify(rt, data), "verify")

    async def api_status(request: Request) -> Response:
        q = request.query_params
        nos = q.getlist("voucherNo")
        args = (
            q.get("certID", ""),
            str(request.path_params["vt"]),
            q.get("admDivCode", ""),
            q.get("stYear", ""),
            nos,
        )
        return await json_call(request, lambda _data: jsonapi.status(rt, *args), "status")

    async def openapi(request: Request) -> Response:
        return JSONResponse(jsonapi.openapi_document(f"ezhifu 凭证库 {config.party_id}"))

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok", "party": config.party_id})

    async def readyz(request: Request) -> Response:
        def probe() -> None:
            with rt.locked() as lib:
                lib.store.outbox_items()

        try:
            await run(probe)
        except EzhifuError as exc:
            return JSONResponse({"status": "not ready", "reason": type(exc).__name__}, status_code=503)
        return JSONResponse(
            {"status": "ready", "party": config.party_id, "outbox": len(rt.library.pending_outbox())}
        )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        rt.start()
        rt.oplog.event("start", party=config.party_id, port=config.port)
        try:
            yield
        finally:
            rt.oplog.event("stop", party=config.party_id)
            rt.close()

    routes = [Route(path, soap, methods=["GET", "POST"]) for path in SERVICE_PATHS]
    routes += [
        Route(MESSAGES_PATH, messages, methods=["POST"]),
        Route("/api/v1/operations/{name}", api_operation, methods=["POST"]),
        Route("/api/v1/validate", api_validate, methods=["POST"]),
        Route("/api/v1/verify", api_verify, methods=["POST"]),
        Route("/api/v1/status/{vt}", api_status, methods=["GET"]),
        Route("/api/v1/openapi.json", openapi, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)
