"""The operations in-process (no HTTP): argument checks, rights and the EVS faults; the config."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from service_support import ADM, YEAR, voucher_envelope

from ezhifu.cli.demo import seal_picture_png
from ezhifu.client.soapenc import SoapValue
from ezhifu.errors import ConfigurationError, ServiceFault
from ezhifu.service.config import MAX_CONFIG_BYTES, load_service_config
from ezhifu.service.operations import MAX_VOUCHER_NOS, dispatch
from ezhifu.service.runtime import Runtime
from ezhifu.service.wsdl import build_wsdl
from ezhifu.testing.service_setup import write_service_setup


@pytest.fixture(scope="module")
def setup_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("setup")
    write_service_setup(directory, picture=seal_picture_png(), base_port=40000)
    return directory


@pytest.fixture
def runtime(setup_dir: Path, tmp_path: Path) -> Iterator[Runtime]:
    config = setup_dir / "finance.toml"
    text = config.read_text(encoding="utf-8").replace('path = "finance.db"', f'path = "{tmp_path / "f.db"}"')
    copy = setup_dir / f"finance-{tmp_path.name}.toml"
    copy.write_text(text, encoding="utf-8")
    rt = Runtime(load_service_config(copy))
    yield rt
    rt.close()


STAMP = '<Root><Stamp No="cz_qm"></Stamp></Root>'


@pytest.mark.parametrize(
    ("name", "args", "code"),
    [
        ("readVoucherAgain", ["001", ADM, YEAR, "5201"], "EVS100"),  # too few
        ("readVoucherAgain", ["", ADM, YEAR, "5201", 10], "EVS111"),
        ("readVoucherAgain", ["001", ADM, None, "5201", 10], "EVS111"),
        ("readVoucherAgain", ["001", ADM, "2024", "5201", 10], "EVS103"),
        ("readVoucherAgain", ["001", ADM, 20, "5201", 10], "EVS103"),
        ("readVoucherAgain", ["001", "42'; --", YEAR, "5201", 10], "EVS100"),
        ("readVoucherAgain", ["001", ADM, YEAR, "52O1", 10], "EVS100"),
        ("readVoucherAgain", ["001", ADM, YEAR, "5201", 101], "EVS100"),
        ("readVoucherAgain", ["007", ADM, YEAR, "5201", 10], "EVS112"),
        ("noSuchOperation", ["001", ADM, YEAR, "5201"], "EVS100"),
        ("confirmVoucher", ["001", ADM, YEAR, "5201", ["x"] * (MAX_VOUCHER_NOS + 1)], "EVS100"),
        ("returnVoucher", ["001", ADM, YEAR, "5201", ["a", "b"], ["only one reason"]], "EVS100"),
        ("confirmVoucher", ["001", ADM, YEAR, "5201", ["not-received"]], "EVS700"),
        ("signStampByNos", ["001", ADM, YEAR, "5201", b"<MOF/>", STAMP], "EVS100"),
        (
            "signStampByNos",
            ["001", ADM, YEAR, "5201", b"x", "<!DOCTYPE r [<!ENTITY e 'x'>]><Root/>"],
            "EVS100",
        ),
    ],
)
def test_refusals_are_named_faults(runtime: Runtime, name: str, args: list[SoapValue], code: str) -> None:
    with pytest.raises(ServiceFault) as info:
        dispatch(runtime, name, args)
    assert info.value.code == code
    assert info.value.fault_string().split("Exception:", 1)[1].startswith(f"{code}#")


def test_lifecycle_refusal_is_evs700_and_sign_without_position_signs(runtime: Runtime) -> None:
    no, envelope = voucher_envelope(51)
    dispatch(runtime, "signStampByNos", ["001", ADM, YEAR, "5201", envelope, STAMP])
    with pytest.raises(ServiceFault) as info:
        dispatch(runtime, "signStampByNos", ["001", ADM, YEAR, "5201", envelope, STAMP])
    assert info.value.code == "EVS700"
    status = dispatch(runtime, "batchQueryAllVoucherStatus", ["001", ADM, YEAR, "5201", [no]])
    assert (
        isinstance(status, dict)
        and status[no][0] == 13
        and str(status[no][1]).startswith("发送单状态：本方未发送")
    )
    dispatch(runtime, "cancelStampWithPosition", ["001", ADM, YEAR, "5201", no, "cz_qm"])
    with pytest.raises(ServiceFault, match="neither signed nor stamped"):
        dispatch(runtime, "cancelStampWithPosition", ["001", ADM, YEAR, "5201", no, "cz_qm"])
    signed = dispatch(runtime, "signWithoutPosition", ["001", ADM, YEAR, "5201", voucher_envelope(52)[1]])
    assert isinstance(signed, bytes) and b"cz_qm" in signed
    positions = dispatch(runtime, "queryStampPositionWithName", ["001", ADM, YEAR, "5201"])
    assert isinstance(positions, dict) and positions["cz_gz"] == "财政业务专用章"


def test_wsdl_names_every_operation() -> None:
    wsdl = build_wsdl("AsspCBankService", "http://127.0.0.1/realware/services/AsspCBankService").decode()
    for name in (
        "readVoucherAgain",
        "signStampByNosAndSend",
        "batchQueryAllVoucherStatus",
        "ArrayOf_xsd_string",
    ):
        assert name in wsdl
    assert 'use="encoded"' in wsdl and 'style="rpc"' in wsdl


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("[party]", "[party]\ncolour = 1"), "unknown key"),
        (("port = 40000", "port = 70000"), "port"),
        (('roots = ["root.pem"]', "roots = []"), "roots"),
        (('"5201" = "pbc"', '"5201" = "nobody"'), "configured peer"),
        (('url = "http://127.0.0.1:40001"', 'url = "ftp://x"'), "http"),
        (("[trust]", "[nonsense]\n[trust]"), "unknown table"),
        (('seal_makers = ["seal-maker-root.pem"]', 'seal_makers = "seal-maker-root.pem"'), "seal_makers"),
        (("[trust]", "[trust]\ncolour = 1"), "unknown key"),
    ],
)
def test_bad_configurations_name_the_key(
    setup_dir: Path, tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    text = (setup_dir / "finance.toml").read_text(encoding="utf-8")
    assert change[0] in text
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace(change[0], change[1], 1), encoding="utf-8")
    with pytest.raises(ConfigurationError, match=message):
        load_service_config(bad)


def test_oversized_and_non_toml_configurations(tmp_path: Path) -> None:
    big = tmp_path / "big.toml"
    big.write_bytes(b"#" * (MAX_CONFIG_BYTES + 1))
    with pytest.raises(ConfigurationError, match="exceeds"):
        load_service_config(big)
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b"\xff\xfe[party")
    with pytest.raises(ConfigurationError, match="not valid UTF-8 TOML"):
        load_service_config(bad)


def test_trust_anchors_by_purpose_from_the_configuration(setup_dir: Path, tmp_path: Path) -> None:
    """Issue 13 item 1: ``[trust]`` gives the seal makers' anchors apart from the signers' roots;
    without ``seal_makers`` the service's trust store has no seal-maker anchor (every seal refused)."""
    config = load_service_config(setup_dir / "finance.toml")
    assert config.trust_roots == (setup_dir / "root.pem",)
    assert config.trust_seal_makers == (setup_dir / "seal-maker-root.pem",)
    assert config.trust_tsas == ()
    text = (setup_dir / "finance.toml").read_text(encoding="utf-8")
    without = tmp_path / "finance.toml"
    without.write_text(text.replace('seal_makers = ["seal-maker-root.pem"]\n', ""), encoding="utf-8")
    assert load_service_config(without).trust_seal_makers == ()
