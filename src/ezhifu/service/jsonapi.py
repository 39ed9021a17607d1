"""The JSON API beside the SOAP services, with its OpenAPI 3.1 document (docs/service.md).

* ``POST /api/v1/operations/{name}`` with ``{"args": [...]}``: any 凭证库 operation of the one
  table, positional as in SOAP; ``byte[]`` arguments and results are Base64 strings. Answers
  ``{"result": ...}`` or, on a refusal, HTTP 422 ``{"fault": {"code": "EVS103", "message": ...}}``.
* ``POST /api/v1/validate`` and ``/api/v1/verify`` with ``{"envelope": base64}``: schema
  validation and signature/seal verification against the service's trust store.
* ``GET /api/v1/status/{vtCode}?admDivCode=&stYear=&voucherNo=...``: batch status.
* ``GET /api/v1/openapi.json``: this API described from the operations table.

Signing and sealing go through the operations ``signByNos`` / ``signStampByNos`` /
``signWithoutPosition`` so that the rights of ``[rights]`` apply to JSON callers as well.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from ezhifu.client.operations import OPERATIONS, operation
from ezhifu.client.soapenc import SoapValue
from ezhifu.document.validation import iter_errors
from ezhifu.errors import InvalidParameter, RequestRejected
from ezhifu.service.operations import dispatch
from ezhifu.service.runtime import Runtime
from ezhifu.verify.envelope import verify_envelope

__all__ = ["call_operation", "openapi_document", "status", "to_json", "validate", "verify"]

MAX_ISSUES = 200
_JSON_TYPES: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "int": {"type": "integer", "format": "int32"},
    "bytes": {"type": "string", "contentEncoding": "base64"},
    "string[]": {"type": "array", "items": {"type": "string"}},
    "map": {"type": "object"},
    "void": {"type": "null"},
}


def to_json(value: SoapValue) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, list):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    return value


def _b64(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise InvalidParameter(f"{what} must be a Base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidParameter(f"{what} is not valid Base64: {exc}") from exc


def _body(data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidParameter(f"request body is not UTF-8 JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise InvalidParameter("request body must be a JSON object")
    return value


def call_operation(rt: Runtime, name: str, data: bytes) -> Any:
    op = operation(name)
    if op is None:
        raise RequestRejected(f"unknown operation {name[:60]!r} / 未知的操作")
    args = _body(data).get("args")
    if not isinstance(args, list) or len(args) != len(op.params):
        raise InvalidParameter(
            f"{name}: 'args' must be a list of {len(op.params)} values ({', '.join(op.param_names())})"
        )
    decoded: list[SoapValue] = []
    for param, value in zip(op.params, args, strict=True):
        decoded.append(_b64(value, param.name) if param.type == "bytes" and value is not None else value)
    return {"result": to_json(dispatch(rt, name, decoded))}


def validate(data: bytes) -> Any:
    envelope = _b64(_body(data).get("envelope"), "envelope")
    issues = []
    for issue in iter_errors(envelope):
        issues.append({"path": issue.path, "line": issue.line, "reason": issue.reason, "code": issue.code})
        if len(issues) >= MAX_ISSUES:
            break
    return {"valid": not issues, "issues": issues}


def verify(rt: Runtime, data: bytes) -> Any:
    envelope = _b64(_body(data).get("envelope"), "envelope")
    result = verify_envelope(envelope, trust=rt.trust, positions=rt.positions.as_positions())
    return result.to_dict()


def status(rt: Runtime, cert_id: str, vt_code: str, adm: str, year: str, nos: list[str]) -> Any:
    """``batchQueryAllVoucherStatus`` from query parameters (a non-numeric year is EVS103)."""
    numbers: list[SoapValue] = list(nos)
    year_value: SoapValue = int(year) if year.isdigit() and len(year) <= 6 else year
    value = dispatch(rt, "batchQueryAllVoucherStatus", [cert_id, adm, year_value, vt_code, numbers])
    return {"result": to_json(value)}


def _envelope_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["envelope"],
        "properties": {"envelope": {"type": "string", "contentEncoding": "base64"}},
    }


def openapi_document(title: str) -> dict[str, Any]:
    """OpenAPI 3.1 from the operations table."""
    paths: dict[str, Any] = {}
    for op in OPERATIONS:
        paths[f"/api/v1/operations/{op.name}"] = {
            "post": {
                "operationId": op.name,
                "summary": f"{op.summary} (spec.md §6 {op.clause})",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["args"],
                                "properties": {
                                    "args": {
                                        "type": "array",
                                        "prefixItems": [
                                            {**_JSON_TYPES[p.type], "title": p.name} for p in op.params
                                        ],
                                        "minItems": len(op.params),
                                        "maxItems": len(op.params),
                                    }
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "200": {
                        "description": "done",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {"result": _JSON_TYPES[op.returns]},
                                }
                            }
                        },
                    },
                    "422": {"description": "refused with an EVS code (fault.code, fault.message)"},
                },
            }
        }
    for name in ("validate", "verify"):
        paths[f"/api/v1/{name}"] = {
            "post": {
                "operationId": name,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _envelope_schema()}},
                },
                "responses": {"200": {"description": f"{name} result"}},
            }
        }
    paths["/api/v1/status/{vtCode}"] = {
        "get": {"operationId": "status", "responses": {"200": {"description": "status"}}}
    }
    paths["/healthz"] = {"get": {"operationId": "health", "responses": {"200": {"description": "alive"}}}}
    paths["/readyz"] = {"get": {"operationId": "ready", "responses": {"200": {"description": "ready"}}}}
    return {"openapi": "3.1.0", "info": {"title": title, "version": "1"}, "paths": paths}
