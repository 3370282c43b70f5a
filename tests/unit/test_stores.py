"""QuickFIX FileStore sequence numbers, edited offline: group commit's restart rewind."""

from __future__ import annotations

from pathlib import Path

from gateway.fix.stores import StoredSession, rewind_inbound


def _store(tmp_path: Path) -> StoredSession:
    return StoredSession("CLIENT1", "client", tmp_path / "store" / "clients" / "FIX.4.4-FIXGW-CLIENT1")


def test_a_store_ahead_of_the_watermark_is_rewound_to_the_message_after_it(tmp_path):
    store = _store(tmp_path)
    store.write(52, 40)  # QuickFIX counted inbound 1..39
    assert rewind_inbound(store, 35) == 40  # the journal has 1..35
    assert store.read() == (52, 36)  # outbound untouched; 36.. will be asked for again
    assert store.seqnums.read_text() == f"{52:020d} : {36:020d}"  # QuickFIX's own format


def test_a_store_at_or_behind_the_watermark_is_left_alone(tmp_path):
    store = _store(tmp_path)
    store.write(7, 36)
    assert rewind_inbound(store, 35) is None  # exactly in step
    store.write(7, 3)  # reset since (a new schedule period, an operator's reset)
    assert rewind_inbound(store, 35) is None and store.read() == (7, 3)


def test_no_store_yet_is_left_alone(tmp_path):
    store = _store(tmp_path)
    assert rewind_inbound(store, 10) is None
    assert not store.seqnums.exists()
