"""QuickFIX's session-level acceptance scripts (../shared/conformance) against the client acceptor.

The 14 scripts that expect QuickFIX's echo server (a valid NewOrderSingle echoed back)
are left out, as the suite's README says; every other FIX 4.4 and FIX 4.2 script must pass.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.harness import HOST, acceptor_port, start_gateway, write_config

SUITE = Path(__file__).resolve().parents[2].parent / "shared" / "conformance"

NOT_APPLICABLE = {
    "14e_IncorrectEnumValue",
    "15_HeaderAndBodyFieldsOrderedDifferently",
    "19a_PossResendMessageThatHAsAlreadyBeenSent",
    "19b_PossResendMessageThatHasNotBeenSent",
    "20_SimultaneousResendRequest",
    "21_RepeatingGroupSpecifierWithValueOfZero",
    "2d_GarbledMessage",
    "2f_PossDupOrigSendingTimeTooHigh",
    "2g_PossDupNoOrigSendingTime",
    "2m_BodyLengthValueNotCorrect",
    "3b_InvalidChecksum",
    "3c_GarbledMessage",
    "8_AdminAndApplicationMessages",
    "8_OnlyApplicationMessages",
}

pytestmark = pytest.mark.skipif(
    not (SUITE / "defrunner.py").exists(), reason=f"conformance suite not found at {SUITE}"
)


def test_every_applicable_fix44_and_fix42_script_passes(tmp_path):
    config = write_config(
        tmp_path,
        extra_clients={"CONF44": "4.4", "CONF42": "4.2"},
        client_options="reset_on_logon: true\ncheck_latency: true\nmax_latency_s: 120\n",
    )
    gw = start_gateway(config)
    try:
        port = acceptor_port(config)
        runs = {}
        for version, comp_id in (("fix44", "TW44"), ("fix42", "TW42")):
            scripts = sorted(p for p in (SUITE / version).glob("*.def") if p.stem not in NOT_APPLICABLE)
            assert len(scripts) >= 40, f"suite looks incomplete: {len(scripts)} {version} scripts"
            client = f"CONF{version[3:]}"
            runs[version] = subprocess.Popen(
                [
                    sys.executable,
                    str(SUITE / "defrunner.py"),
                    "-H",
                    HOST,
                    "-p",
                    str(port),
                    "--sub",
                    f"49={comp_id}:49={client}",
                    "--sub",
                    f"56={comp_id}:56={client}",
                    "--sub",
                    "49=ISLD:49=FIXGW",
                    "--sub",
                    "56=ISLD:56=FIXGW",
                    *map(str, scripts),
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        results = {v: (p.wait(timeout=240), p.stdout.read()) for v, p in runs.items()}
    finally:
        gw.stop()
    failures = {v: out for v, (rc, out) in results.items() if rc != 0}
    assert not failures, "\n".join(
        line for out in failures.values() for line in out.splitlines() if not line.startswith("PASS")
    )
    for _, out in results.values():
        assert "tests passed" in out
