"""A Python client of the 凭证库 SOAP operations (spec.md §6): a real server or ``ezhifu serve``.

:class:`VoucherServiceClient` sends the same rpc/encoded calls as the Axis 1.x clients
(:mod:`ezhifu.client.soapenc`), checked against the one operations table
(:mod:`ezhifu.client.operations`), over HTTP(S) with the standard library (TLS with a client
certificate through an :class:`ssl.SSLContext`). Faults raise
:class:`~ezhifu.errors.ServiceFault` with the server's EVS code::

    client = VoucherServiceClient("http://127.0.0.1:8701")
    envelope = client.read_voucher_again("001", "420000", 2024, "5201", 100)
"""

from __future__ import annotations

import ssl
import urllib.error
import urllib.request
from collections.abc import Sequence

from ezhifu.client.operations import SERVICE_PATHS, Operation, operation
from ezhifu.client.soapenc import MAX_SOAP_BYTES, SoapValue, decode_response, encode_request
from ezhifu.errors import InvalidInput, ServiceFault, TransportError

__all__ = ["VoucherServiceClient", "check_args"]

_PY_TYPES = {"string": str, "int": int, "bytes": bytes}


def check_args(op: Operation, args: Sequence[SoapValue]) -> None:
    """Refuse arguments that do not match ``op``'s parameters (count and types)."""
    if len(args) != len(op.params):
        raise InvalidInput(
            f"{op.name}: takes {len(op.params)} arguments ({', '.join(op.param_names())}), got {len(args)}"
        )
    for param, value in zip(op.params, args, strict=True):
        if value is None:
            continue
        if param.type == "string[]":
            ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        else:
            ok = isinstance(value, _PY_TYPES[param.type]) and not isinstance(value, bool)
        if not ok:
            raise InvalidInput(
                f"{op.name}: argument {param.name} must be {param.type}, got {type(value).__name__}"
            )


class VoucherServiceClient:
    """Calls the 凭证库 operations at ``base_url`` + ``path`` (default the 人行-side service)."""

    def __init__(
        self,
        base_url: str,
        *,
        path: str = SERVICE_PATHS[0],
        timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
        max_response_bytes: int = MAX_SOAP_BYTES,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise InvalidInput(f"service URL must start with http:// or https://, not {base_url[:40]!r}")
        self.url = base_url.rstrip("/") + path
        self.timeout = timeout
        self.ssl_context = ssl_context
        self.max_response_bytes = max_response_bytes

    def call(self, name: str, *args: SoapValue) -> SoapValue:
        """Invoke operation ``name`` with positional ``args``; returns the decoded return value."""
        op = operation(name)
        if op is None:
            raise InvalidInput(f"{name!r} is not a 凭证库 operation (spec.md §6)")
        check_args(op, args)
        request = urllib.request.Request(  # noqa: S310 (the scheme is checked in __init__)
            self.url,
            data=encode_request(name, list(args)),
            headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=self.ssl_context) as response:  # noqa: S310
                data = response.read(self.max_response_bytes + 1)
        except urllib.error.HTTPError as exc:
            data = exc.read(self.max_response_bytes + 1)
            if exc.code != 500 or not data:
                raise TransportError(f"{self.url}: HTTP {exc.code} for {name}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise TransportError(f"{self.url}: {name} failed: {exc}") from exc
        if len(data) > self.max_response_bytes:
            raise TransportError(f"{self.url}: response to {name} exceeds {self.max_response_bytes} bytes")
        return decode_response(data)

    # --- the operations the published clients use most (S2), typed --------------------------

    def read_voucher_again(
        self, cert_id: str, adm_div_code: str, st_year: int, vt_code: str, count: int = 100
    ) -> bytes | None:
        """``readVoucherAgain``: the GBK ``<MOF>`` envelope of up to ``count`` unread vouchers."""
        value = self.call("readVoucherAgain", cert_id, adm_div_code, st_year, vt_code, count)
        if value is not None and not isinstance(value, bytes):
            raise ServiceFault("readVoucherAgain returned no byte[]")
        return value

    def batch_query_all_voucher_status(
        self, cert_id: str, adm_div_code: str, st_year: int, vt_code: str, voucher_nos: Sequence[str]
    ) -> dict[str, tuple[int, str]]:
        """``batchQueryAllVoucherStatus``: voucher number → (status code, description)."""
        value = self.call(
            "batchQueryAllVoucherStatus", cert_id, adm_div_code, st_year, vt_code, list(voucher_nos)
        )
        if not isinstance(value, dict):
            raise ServiceFault("batchQueryAllVoucherStatus returned no Map")
        out: dict[str, tuple[int, str]] = {}
        for no, pair in value.items():
            if not isinstance(pair, list) or len(pair) != 2:
                raise ServiceFault(f"batchQueryAllVoucherStatus: entry {no!r} is not Object[]{{code, text}}")
            out[no] = (int(str(pair[0])), str(pair[1]))
        return out

    def sign_stamp_by_nos_and_send(
        self,
        cert_id: str,
        adm_div_code: str,
        st_year: int,
        vt_code: str,
        envelope: bytes,
        stamp: str,
        src_org_type: str,
        dec_org_type: str,
    ) -> SoapValue:
        return self.call(
            "signStampByNosAndSend",
            cert_id,
            adm_div_code,
            st_year,
            vt_code,
            envelope,
            stamp,
            src_org_type,
            dec_org_type,
        )
