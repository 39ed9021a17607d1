"""The shared pieces of the core that replaced repeated code (issue 12, duplicate count).

``results.JsonFields`` (the JSON of a result whose JSON is its fields), ``ServiceFault`` subclasses
named in their class header, ``_fileio.config_table`` / ``RunBudget``,
``Closing`` on the verification pools, and the pytest plugin's one set of keyword options.
"""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import pytest

from ezhifu import errors
from ezhifu._closing import Closing
from ezhifu._fileio import RunBudget, config_table
from ezhifu.errors import ConfigurationError, RunLimitExceeded, ServiceFault
from ezhifu.pki.certs import describe
from ezhifu.pki.keys import generate_private_key
from ezhifu.pki.signer import SoftwareSigner
from ezhifu.pki.trust import TrustStore
from ezhifu.results import JSON_NAME, JsonFields, SealFacts, SignerInfo
from ezhifu.testing import make_pki
from ezhifu.testing.pytest_plugin import VoucherChecks, voucher_problems
from ezhifu.verify.pool import VerifyPool


@dataclass(frozen=True, slots=True)
class _Entry(JsonFields):
    serial_hex: str = field(metadata={JSON_NAME: "serial"})
    at: datetime
    on: date
    names: tuple[str, ...] = ()
    raw: bytes = field(default=b"", metadata={JSON_NAME: None})


def test_record_json_names_times_and_left_out_fields() -> None:
    entry = _Entry("0a", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), date(2026, 1, 2), ("a", "b"), b"\x00")
    assert entry.to_dict() == {
        "serial": "0a",
        "at": "2026-01-02T03:04:05+00:00",
        "on": "2026-01-02",
        "names": ["a", "b"],
    }
    json.dumps(entry.to_dict())  # plain data only


def test_certificate_description_and_signer_info_keep_their_json() -> None:
    pki = make_pki("sm2")
    description = describe(pki.leaf_cert)
    data = description.to_dict()
    assert list(data) == [
        "subject",
        "issuer",
        "serial",
        "not_before",
        "not_after",
        "key_kind",
        "key_bits",
        "sha256",
        "is_ca",
    ]
    assert data["serial"] == description.serial_hex
    assert data["not_before"] == description.not_before.isoformat()
    assert data["is_ca"] is False
    signer = description.signer_info().to_dict()
    assert signer == {k: data[k] for k in ("subject", "issuer", "serial", "not_before", "not_after")}
    assert SignerInfo("s", "i", "01").to_dict() == {
        "subject": "s",
        "issuer": "i",
        "serial": "01",
        "not_before": None,
        "not_after": None,
    }


def test_seal_facts_json_leaves_the_picture_bytes_out() -> None:
    facts = SealFacts("seal-1", "财务专用章", "GB/T 38540-2020", picture_data=b"\x89PNG")
    assert facts.to_dict() == {
        "seal_id": "seal-1",
        "name": "财务专用章",
        "standard": "GB/T 38540-2020",
        "valid_from": None,
        "valid_to": None,
        "maker": None,
        "picture": None,
        "picture_error": None,
    }


@pytest.mark.parametrize(
    ("name", "code", "zh"),
    [
        ("InvalidParameter", "EVS100", "参数不合法"),
        ("InvalidBusinessYear", "EVS103", "业务年度不合法"),
        ("EmptyParameter", "EVS111", "参数存在空值"),
        ("NotAuthorised", "EVS112", "凭证类型无对应证书id权限"),
        ("BusinessRuleViolated", "EVS700", "业务逻辑不合法"),
        ("RequestRejected", "EVS100", "参数不合法"),
    ],
)
def test_service_fault_classes_carry_their_code_and_text(name: str, code: str, zh: str) -> None:
    cls = getattr(errors, name)
    assert issubclass(cls, ServiceFault)
    assert (cls.code, cls.zh) == (code, zh)
    fault = cls("detail")
    assert str(fault) == f"{code}#{zh} / detail"
    assert fault.fault_string() == f"ezhifu.ServiceException:{code}#{zh} / detail"
    assert (ServiceFault.code, ServiceFault.zh) == ("EVS999", "未定义异常信息")


def test_config_table_refuses_a_non_table_and_unknown_keys() -> None:
    assert config_table({"certs": []}, "f: parties.bank", {"certs", "anchors"}, hint="certs") == {"certs": []}
    with pytest.raises(ConfigurationError, match=r"f: parties.bank: 必须是表 / must be a table \(certs\)"):
        config_table(["certs"], "f: parties.bank", {"certs"}, hint="certs")
    with pytest.raises(ConfigurationError, match="unknown key\\(s\\) 'pins', 'roots'"):
        config_table({"roots": 1, "pins": 2, "certs": 3}, "f", {"certs"}, hint="certs")


def test_run_budget_names_the_limit_and_the_option() -> None:
    budget = RunBudget(max_files=2, max_bytes=10)
    budget.count_file(2)
    with pytest.raises(RunLimitExceeded, match="--max-files") as refused:
        budget.count_file()
    assert (refused.value.limit, refused.value.value) == ("max_run_files", 3)
    with pytest.raises(RunLimitExceeded, match="--max-run-bytes") as too_much:
        RunBudget(max_bytes=10).take("-", unknown_size=11)
    assert (too_much.value.limit, too_much.value.value) == ("max_run_bytes", 11)


def test_verify_pool_closes_through_the_one_protocol() -> None:
    pki = make_pki("sm2")
    pool = VerifyPool(1, trust=TrustStore(roots=[pki.root_cert]))
    assert isinstance(pool, Closing)
    with pool as entered:
        assert entered is pool
    with pytest.raises(RuntimeError):  # the executor was shut down on the way out
        pool._executor.submit(int)


def test_assert_valid_voucher_takes_exactly_the_options_of_voucher_problems() -> None:
    keyword_only = [
        name
        for name, parameter in inspect.signature(voucher_problems).parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    assert set(VoucherChecks.__optional_keys__) == set(keyword_only)
    assert not VoucherChecks.__required_keys__


@pytest.mark.parametrize(("kind", "expected"), [("sm2", "sm2"), ("rsa2048", "rsa"), ("p256", "ec")])
def test_a_signers_key_kind_is_its_algorithms(kind: str, expected: str) -> None:
    signer = SoftwareSigner(generate_private_key(kind))
    assert signer.key_kind == signer.algorithm.key_kind == expected
