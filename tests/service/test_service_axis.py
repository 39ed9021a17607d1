"""A real Apache Axis 1.4 client (Debian ``libaxis-java``, Java 17) against ``ezhifu serve``.

The Java program (tests/service/java/AxisScenario.java) is compiled with javac in a fixture
and calls the services with dynamic ``Call.invoke`` as the published clients do; its output is
checked here, and the envelope it read is verified in Python.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from service_support import Services, voucher_envelope

from ezhifu.pki.keys import load_certificates
from ezhifu.pki.trust import TrustStore
from ezhifu.verify.envelope import verify_envelope

JAVA_SOURCE = Path(__file__).parent / "java" / "AxisScenario.java"
AXIS_JARS = (
    "axis",
    "jaxrpc",
    "saaj",
    "commons-discovery",
    "commons-logging",
    "wsdl4j",
    "javax.activation",
    "javax.mail",
)

pytestmark = pytest.mark.interop


def _classpath() -> list[str]:
    jars = [Path("/usr/share/java") / f"{name}.jar" for name in AXIS_JARS]
    missing = [str(j) for j in jars if not j.exists()]
    assert not missing, f"install libaxis-java (scripts/test.sh): missing {missing}"
    return [str(j) for j in jars]


@pytest.fixture(scope="session")
def axis_client(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    javac = shutil.which("javac")
    assert javac, "javac missing: install default-jdk-headless (scripts/test.sh)"
    out = tmp_path_factory.mktemp("axis")
    classpath = _classpath()
    subprocess.run(
        [
            javac,
            "-encoding",
            "UTF-8",
            "-nowarn",
            "-cp",
            ":".join(classpath),
            "-d",
            str(out),
            str(JAVA_SOURCE),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return ["java", "-Dfile.encoding=UTF-8", "-cp", ":".join([str(out), *classpath]), "AxisScenario"]


def test_axis_client_scenario(services: Services, axis_client: list[str], tmp_path: Path) -> None:
    no, envelope = voucher_envelope(21)
    (tmp_path / "envelope.xml").write_bytes(envelope)
    read_file = tmp_path / "read.xml"
    run = subprocess.run(
        [
            *axis_client,
            services["finance"].url,
            services["pbc"].url,
            str(tmp_path / "envelope.xml"),
            str(read_file),
            no,
        ],
        capture_output=True,
        timeout=300,
    )
    output = run.stdout.decode("utf-8", errors="replace")
    assert run.returncode == 0, output + run.stderr.decode("utf-8", errors="replace")[-4000:]
    lines = dict(line.split(" ", 1) for line in output.splitlines() if " " in line)
    assert no in lines["SENT"]
    assert lines["READ"].endswith("true")
    statuses = [line for line in output.splitlines() if line.startswith("STATUS ")]
    assert statuses[0] == "STATUS 3|发送单状态：对方签收成功（本地：已签收）"
    assert statuses[1].startswith("STATUS 5|发送单状态：对方已退回") and "收款人账号错误" in statuses[1]
    assert lines["POSITION"] == "cz_gz=财政业务专用章"
    assert lines["FAULT"].startswith("EVS103#业务年度不合法")
    folder = services.paths["finance"].parent
    root = load_certificates((folder / "root.pem").read_bytes())
    makers = load_certificates((folder / "seal-maker-root.pem").read_bytes())
    result = verify_envelope(read_file.read_bytes(), trust=TrustStore(roots=root, seal_makers=makers))
    assert result.valid and [b.voucher_no for b in result.bodies] == [no]
