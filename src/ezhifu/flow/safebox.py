"""The safe box: a keystore bound to a position table, with an audit trail.

It stands in for the client security control (电子支付安全支撑控件, spec.md §7) and the
server-side signing of the 凭证库 (spec.md §5.2): the voucher template of each VtCode names
the signature and stamp positions (spec.md §5.1, e.g. ``cz_dwfz`` signature, ``cz_dwgz`` seal,
``rh_ywzqz`` 转讫章), and only the configured key may sign, and only the configured seal may
stamp, at a position. Refusals mirror the control's error codes (spec.md §7) in the
``ocx_code`` attribute of the exception:

=====  =========================================  ==============================
code   meaning (S6)                                 exception
=====  =========================================  ==============================
106    签名位置为空 (position empty)                :class:`PositionEmpty`
107    证书ID为空 (certificate id empty)            :class:`CertificateIdEmpty`
108    凭证编号不存在 (voucher number not found)     :class:`VoucherNotInEnvelope`
109    该签名位置已签名 (already signed)             :class:`PositionTaken`
114    印章格式错误 (seal format error)              :class:`SealFormatRefused`
117    该签章位置已签章 (already stamped)            :class:`PositionTaken`
121    签章位置表未配置 (stamp position not set)      :class:`PositionNotInTable`
122    签名位置表未配置 (signature position not set)  :class:`PositionNotInTable`
=====  =========================================  ==============================

Every use of a key and every refusal is appended to the audit trail
(:class:`ezhifu.keystore.audit.AuditLog`) when one is given. The box is thread-safe: one lock
covers the check-sign-append sequence, so two threads can never both sign one position.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from ezhifu.document.positions import (
    OCX_SIGN_POSITION_NOT_CONFIGURED,
    OCX_STAMP_POSITION_NOT_CONFIGURED,
    Kind,
    PositionTable,
    StampPosition,
    ocx_not_configured,
)
from ezhifu.errors import (
    CertificateIdEmpty,
    EzhifuError,
    InvalidInput,
    KeyNotFound,
    KeyStoreError,
    OcxRefusal,
    PositionEmpty,
    PositionNotInTable,
    PositionTaken,
    SealFormatError,
    SealFormatRefused,
    SigningError,
    VoucherNotInEnvelope,
)
from ezhifu.keystore.audit import audit_context
from ezhifu.seal.apply import apply_seal
from ezhifu.seal.containers import parse_seal
from ezhifu.sign.voucher import sign_body
from ezhifu.verify.envelope import verify_envelope
from ezhifu.verify.parties import Parties

if TYPE_CHECKING:
    from ezhifu.crypto.base import Signer
    from ezhifu.document.envelope import Envelope, SignatureElement, SignStampElement, VoucherBody
    from ezhifu.keystore.audit import AuditLog
    from ezhifu.keystore.base import KeyStore
    from ezhifu.pki.trust import TrustStore, VerifyPolicy
    from ezhifu.results import EnvelopeResult

__all__ = [
    "OCX_ALREADY_SIGNED",
    "OCX_ALREADY_STAMPED",
    "OCX_CERT_ID_EMPTY",
    "OCX_POSITION_EMPTY",
    "OCX_SEAL_FORMAT",
    "OCX_SIGN_POSITION_NOT_CONFIGURED",
    "OCX_STAMP_POSITION_NOT_CONFIGURED",
    "OCX_VOUCHER_NOT_FOUND",
    "CertificateIdEmpty",
    "OcxRefusal",
    "PositionEmpty",
    "PositionNotInTable",
    "PositionRule",
    "PositionTable",
    "PositionTaken",
    "SafeBox",
    "SealFormatRefused",
    "StampPosition",
    "VoucherNotInEnvelope",
]

OCX_POSITION_EMPTY = 106
OCX_CERT_ID_EMPTY = 107
OCX_VOUCHER_NOT_FOUND = 108
OCX_ALREADY_SIGNED = 109
OCX_SEAL_FORMAT = 114
OCX_ALREADY_STAMPED = 117
#: The former name of :class:`ezhifu.document.positions.StampPosition` (one type, two names).
PositionRule = StampPosition

#: A signature or stamp element made by the safe box.
_Placed = TypeVar("_Placed")


def _refuse_relabelled(bodies: Iterable[VoucherBody], operation: str) -> None:
    """Refuse, before anything is signed, a body whose envelope attributes differ from its signed
    voucher (:func:`ezhifu.document.rules.attribute_mismatches`, spec.md §5.5)."""
    for body in bodies:
        mismatches = [m.describe() for m in body.attribute_mismatches()]
        if mismatches:
            raise SigningError(
                f"voucher {body.voucher_no!r}: refusing to {operation}: " + "; ".join(mismatches)
            )


class SafeBox:
    """A keystore, a position table and an optional audit trail (see the module docstring).

    ``actor`` names who operates the box in audit entries (a user id, a service name).
    """

    def __init__(
        self,
        keystore: KeyStore,
        positions: PositionTable,
        *,
        audit: AuditLog | None = None,
        actor: str = "",
    ) -> None:
        self.keystore = keystore
        self.positions = positions
        self.audit = audit
        self.actor = actor
        self._lock = threading.RLock()

    # -- audit helpers -----------------------------------------------------------------------

    def _record(self, operation: str, outcome: str, **fields: str) -> None:
        if self.audit is not None:
            self.audit.record(operation, outcome, actor=self.actor, **fields)

    def _record_error(
        self, operation: str, body: VoucherBody, exc: EzhifuError, where: dict[str, str]
    ) -> None:
        """Record the "error" entry of a signature or stamp that failed on ``body``."""
        self._record(
            operation, "error", voucher_no=body.voucher_no, reason=f"{type(exc).__name__}: {exc}", **where
        )

    def _audited(
        self,
        items: list[Any],
        element: Any,
        operation: str,
        voucher_no: str,
        reason: str,
        where: dict[str, str],
    ) -> None:
        """Record the "ok" entry of a signature or stamp just made; if the audit trail cannot
        take it, withdraw the element from the body before re-raising, so no signature leaves
        the safe box without its audit entry (security review AUD-2)."""
        try:
            self._record(operation, "ok", voucher_no=voucher_no, reason=reason, **where)
        except BaseException:
            if items and items[-1] is element:
                items.pop()
            raise

    @contextmanager
    def _refusals(self, operation: str, position: str, voucher_no: str | None) -> Iterator[None]:
        """Audit an exception raised before anything was signed, then re-raise it."""
        try:
            yield
        except EzhifuError as exc:
            outcome = "refused" if isinstance(exc, KeyStoreError | InvalidInput | SigningError) else "error"
            code = getattr(exc, "ocx_code", None)
            reason = f"{type(exc).__name__}{f' (OCX {code})' if code else ''}: {exc}"
            self._record(operation, outcome, position=position, voucher_no=voucher_no or "", reason=reason)
            raise

    # -- operations --------------------------------------------------------------------------

    def _bodies(self, envelope: Envelope, voucher_no: str | None) -> list[VoucherBody]:
        bodies = list(envelope.bodies)
        if voucher_no is not None:
            bodies = [b for b in bodies if b.voucher_no == voucher_no]
            if not bodies:
                raise VoucherNotInEnvelope(
                    f"no VoucherBody with VoucherNo {voucher_no!r} in the envelope",
                    ocx_code=OCX_VOUCHER_NOT_FOUND,
                )
        if not bodies:
            raise VoucherNotInEnvelope("the envelope has no VoucherBody", ocx_code=OCX_VOUCHER_NOT_FOUND)
        return bodies

    def _check_position_free(self, body: VoucherBody, position: str, kind: Kind) -> None:
        taken = any(s.no == position for s in body.signatures) or any(s.no == position for s in body.stamps)
        if taken:
            code = OCX_ALREADY_SIGNED if kind == "signature" else OCX_ALREADY_STAMPED
            done = "signed" if kind == "signature" else "stamped"
            raise PositionTaken(
                f"voucher {body.voucher_no!r} (VtCode {body.vt_code}): "
                f"position {position!r} is already {done}",
                ocx_code=code,
            )

    def _signer_for(self, rule: PositionRule, alias: str | None, pin: str | None) -> Signer:
        if alias is not None and alias != rule.alias:
            raise PositionNotInTable(
                f"key {alias!r} may not sign at position {rule.position!r} (configured: {rule.alias!r})",
                ocx_code=ocx_not_configured(rule.kind),
            )
        if pin is not None and self.keystore.locked:
            self.keystore.unlock(pin)  # the PIN opens the store itself (token login, store password)
            pin = None
        if not rule.alias:
            raise CertificateIdEmpty(
                f"position {rule.position!r}: no key alias configured", ocx_code=OCX_CERT_ID_EMPTY
            )
        if self.keystore.certificate(rule.alias) is None:
            raise CertificateIdEmpty(
                f"position {rule.position!r}: key {rule.alias!r} has no certificate",
                ocx_code=OCX_CERT_ID_EMPTY,
            )
        return self.keystore.signer(rule.alias, pin)

    def _plan(
        self, envelope: Envelope, position: str, kind: Kind, voucher_no: str | None
    ) -> tuple[list[VoucherBody], PositionRule]:
        if not isinstance(position, str) or not position.strip():
            code = OCX_POSITION_EMPTY
            raise PositionEmpty("no signature or stamp position given", ocx_code=code)
        bodies = self._bodies(envelope, voucher_no)
        # The rule follows the SIGNED voucher's VtCode: the envelope attribute is not signed and
        # a relabelled body must not obtain another template's key or seal (spec.md §5.5).
        rules = [self.positions.rule(body.voucher.vt_code, position, kind) for body in bodies]
        for body in bodies:
            self._check_position_free(body, position, kind)
        if len({(r.alias, r.seal_id) for r in rules}) != 1:
            raise PositionNotInTable(
                f"position {position!r} is configured with different keys for the VtCodes in this envelope; "
                "sign one voucher at a time",
                ocx_code=ocx_not_configured(kind),
            )
        return bodies, rules[0]

    def sign(
        self,
        envelope: Envelope,
        position: str,
        *,
        voucher_no: str | None = None,
        alias: str | None = None,
        pin: str | None = None,
        **options: Any,
    ) -> list[SignatureElement]:
        """Sign every body (or the one ``voucher_no``) at ``position`` with the configured key.

        ``alias``, when given, must be the alias the table configures (otherwise OCX 122).
        ``options`` go to :func:`ezhifu.sign.voucher.sign_body` (``signed_attributes``,
        ``signing_time`` ...). All checks run before anything is signed.
        """
        with self._lock:
            with self._refusals("sign", position, voucher_no):
                bodies, rule = self._plan(envelope, position, "signature", voucher_no)
                if options.get("check_consistency", True):
                    _refuse_relabelled(bodies, "sign")
                signer = self._signer_for(rule, alias, pin)
            # consistency was checked above for every body, under the same lock
            return self._place_each(
                "sign",
                bodies,
                rule,
                position,
                lambda body: sign_body(body, signer, position, **{**options, "check_consistency": False}),
                lambda body: body.signatures,
                lambda element: f"SN={element.sn}",
            )

    def stamp(
        self,
        envelope: Envelope,
        position: str,
        *,
        voucher_no: str | None = None,
        seal_id: str | None = None,
        alias: str | None = None,
        pin: str | None = None,
        signing_time: datetime | None = None,
    ) -> list[SignStampElement]:
        """Stamp every body (or the one ``voucher_no``) at ``position`` with the configured seal.

        ``seal_id`` and ``alias``, when given, must be those the table configures (OCX 121).
        A seal that is missing from the keystore or not a seal refuses with OCX 114.
        """
        with self._lock:
            with self._refusals("stamp", position, voucher_no):
                bodies, rule = self._plan(envelope, position, "stamp", voucher_no)
                _refuse_relabelled(bodies, "stamp")
                if rule.seal_id is None:  # from_mapping requires it; a hand-built rule may lack it
                    raise SealFormatRefused(
                        f"stamp position {position!r} has no seal configured", ocx_code=OCX_SEAL_FORMAT
                    )
                if seal_id is not None and seal_id != rule.seal_id:
                    raise PositionNotInTable(
                        f"seal {seal_id!r} may not stamp at position {position!r} "
                        f"(configured: {rule.seal_id!r})",
                        ocx_code=OCX_STAMP_POSITION_NOT_CONFIGURED,
                    )
                seal_der = self._seal(rule.seal_id)
                signer = self._signer_for(rule, alias, pin)
            return self._place_each(
                "stamp",
                bodies,
                rule,
                position,
                lambda body: apply_seal(body, seal_der, signer, position, signing_time=signing_time),
                lambda body: body.stamps,
                lambda element: f"seal={element.sn}",
                refuse_format=f"seal {rule.seal_id!r}",
            )

    def _place_each(
        self,
        operation: str,
        bodies: list[VoucherBody],
        rule: PositionRule,
        position: str,
        make: Callable[[VoucherBody], _Placed],
        placed_in: Callable[[VoucherBody], list[Any]],
        label: Callable[[_Placed], str],
        *,
        refuse_format: str | None = None,
    ) -> list[_Placed]:
        """Make one signature or stamp per body, each audited; the one loop of sign and stamp.

        An audited keystore's key-use entry names the position and voucher; a failure is
        recorded ("error") and re-raised. With ``refuse_format`` (the seal named in the message),
        a :class:`SealFormatError` is recorded "refused" and raised as OCX 114.
        """
        out: list[_Placed] = []
        for body in bodies:
            vt_code = body.voucher.vt_code  # the signed one (spec.md §5.5), never the attribute
            where = {"alias": rule.alias, "position": position, "vt_code": vt_code}
            try:
                with audit_context(position=position, vt_code=vt_code, voucher_no=body.voucher_no):
                    element = make(body)
            except SealFormatError as exc:
                if refuse_format is None:
                    self._record_error(operation, body, exc, where)
                    raise
                refusal = SealFormatRefused(f"{refuse_format}: {exc}", ocx_code=OCX_SEAL_FORMAT)
                self._record(
                    operation, "refused", voucher_no=body.voucher_no, reason=f"OCX 114: {refusal}", **where
                )
                raise refusal from exc
            except EzhifuError as exc:
                self._record_error(operation, body, exc, where)
                raise
            self._audited(placed_in(body), element, operation, body.voucher_no, label(element), where)
            out.append(element)
        return out

    def _seal(self, seal_id: str) -> bytes:
        try:
            der = self.keystore.seal(seal_id)
        except KeyNotFound as exc:
            raise SealFormatRefused(
                f"seal {seal_id!r} is not in the keystore", ocx_code=OCX_SEAL_FORMAT
            ) from exc
        try:
            parse_seal(der, what=f"seal {seal_id}")
        except EzhifuError as exc:
            raise SealFormatRefused(f"seal {seal_id!r}: {exc}", ocx_code=OCX_SEAL_FORMAT) from exc
        return der

    def verify(
        self,
        envelope: Envelope | bytes,
        trust: TrustStore,
        policy: VerifyPolicy | None = None,
        *,
        at: datetime | None = None,
        parties: Parties | None = None,
    ) -> EnvelopeResult:
        """Verify every signature and stamp, positions checked against this box's table; with
        ``parties`` (a parties file, docs/parties.md) each position is also bound to its party."""
        result = verify_envelope(
            envelope,
            trust=trust,
            policy=policy,
            positions=self.positions.as_positions(),
            at=at,
            parties=parties,
        )
        for body in result.bodies:
            reason = "valid" if body.valid else "invalid: " + "; ".join(body.reasons)
            self._record(
                "verify", "ok", vt_code=body.vt_code, voucher_no=body.voucher_no, reason=reason[:500]
            )
        if not result.bodies:
            self._record("verify", "ok", reason="invalid: " + "; ".join(result.problems)[:500])
        return result
