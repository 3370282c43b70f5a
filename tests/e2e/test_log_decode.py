"""``fixgw log decode`` on the logs a real gateway session wrote."""

from __future__ import annotations

import subprocess
import sys

from tests.e2e.harness import connect, exec_type, report_for, start_gateway, write_config


def decode(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gateway", "log", "decode", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_decode_a_client_sessions_log_by_clordid_and_msgtype(tmp_path):
    config = write_config(tmp_path)
    gw = start_gateway(config)
    try:
        c2 = connect(config, "CLIENT2")  # FIX 4.2
        cl = c2.new_order("TA01", "buy", 5, "3")
        report_for(c2, cl, exec_type("0"))
        other = c2.new_order("TA01", "buy", 1, "2")
        report_for(c2, other, exec_type("0"))
        c2.logout()
    finally:
        gw.stop()
    (log,) = (tmp_path / "sessions" / "log").rglob("FIX.4.2-FIXGW-CLIENT2.messages.current.log")

    out = decode(str(log), "--cl-ord-id", cl, "--msg-type", "ExecutionReport")
    assert out.returncode == 0, out.stderr
    blocks = out.stdout.split("\n\n")
    assert len(blocks) == 1 and blocks[0].splitlines()[0].endswith(
        "ExecutionReport (8) FIXGW -> CLIENT2 seq 2"
    )
    text = " ".join(blocks[0].split())  # columns are padded to the longest name
    assert (
        f"ClOrdID(11) = {cl}" in text and "ExecType(150) = 0 [NEW]" in text and "Side(54) = 1 [BUY]" in text
    )

    both = decode(str(log), "--msg-type", "D")
    assert both.stdout.count("NewOrderSingle (D) CLIENT2 -> FIXGW") == 2

    piped = decode("-", "--msg-type", "8", stdin=log.read_text())
    assert piped.stdout.count("ExecutionReport (8)") == 2

    journal_line = "8=FIX.4.4|35=8|11=X1|150=F|39=2|"  # the journal's and fixgw's own log format
    assert "OrdStatus(39) = 2 [FILLED]" in " ".join(decode("-", stdin=journal_line).stdout.split())

    none = decode(str(log), "--cl-ord-id", "NO-SUCH-ORDER")
    assert none.returncode == 1 and none.stderr.strip() == "no matching FIX messages"
