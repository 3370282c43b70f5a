"""Position keeping: average-cost P&L must be exact to the last digit, whatever the fill order."""

from __future__ import annotations

import json
from decimal import Decimal as D
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from gateway.cli import positions_cmd
from gateway.journal import Journal, PositionRecord
from gateway.orders.enums import Side
from gateway.positions.book import Position, PositionBook

BUY, SELL, SHORT = Side.BUY, Side.SELL, Side.SELL_SHORT


def pos(*fills: tuple[Side, str, str]) -> tuple[Position, list[D]]:
    """A fresh position after ``fills`` (side, qty, px), and what each fill realised."""
    p = Position("C1", None, "VOD.L")
    realised = [p.apply_fill(side, D(q), D(px), n) for n, (side, q, px) in enumerate(fills, 1)]
    return p, realised


class TestPosition:
    def test_opening_long(self) -> None:
        p, realised = pos((BUY, "100", "101.25"))
        assert (p.qty, p.avg_cost, p.realised_pnl, realised) == (D("100"), D("101.25"), 0, [0])
        assert (p.bought, p.sold, p.last_fill_px, p.updated_ns) == (D("100"), 0, D("101.25"), 1)

    @pytest.mark.parametrize("side", [SELL, SHORT])
    def test_opening_short(self, side: Side) -> None:
        p, realised = pos((side, "40", "99.5"))
        assert (p.qty, p.avg_cost, p.realised_pnl, realised) == (D("-40"), D("99.5"), 0, [0])
        assert (p.bought, p.sold) == (0, D("40"))

    def test_adding_at_another_price_gives_the_weighted_average(self) -> None:
        p, realised = pos((BUY, "100", "10"), (BUY, "300", "10.4"), (BUY, "100", "11.15"))
        # (1000 + 3120 + 1115) / 500
        assert (p.qty, p.avg_cost, realised) == (D("500"), D("10.47"), [0, 0, 0])

    def test_adding_to_a_short_gives_the_weighted_average(self) -> None:
        p, _ = pos((SHORT, "10", "20"), (SELL, "30", "24"))
        assert (p.qty, p.avg_cost) == (D("-40"), D("23"))

    def test_repeating_average_is_rounded_to_28_digits(self) -> None:
        p, _ = pos((BUY, "100", "10"), (BUY, "200", "11"))
        assert p.avg_cost == D("10.66666666666666666666666667")

    def test_partial_reduce_realises_exactly_and_keeps_the_average(self) -> None:
        p, realised = pos((BUY, "100", "10"), (BUY, "100", "11"), (SELL, "60", "12.3"))
        # (12.3 - 10.5) * 60
        assert realised[-1] == D("108.0")
        assert (p.qty, p.avg_cost, p.realised_pnl, p.sold) == (D("140"), D("10.5"), D("108.0"), D("60"))

    def test_partial_cover_of_a_short_realises_with_the_short_sign(self) -> None:
        p, realised = pos((SHORT, "100", "50"), (BUY, "30", "52.5"))
        assert realised[-1] == D("-75.0")  # (52.5 - 50) * 30 * -1
        assert (p.qty, p.avg_cost) == (D("-70"), D("50"))

    def test_full_close_goes_flat_with_avg_zero(self) -> None:
        p, realised = pos((BUY, "100", "10"), (SELL, "100", "9.75"))
        assert realised == [0, D("-25.00")]
        assert (p.qty, p.avg_cost, p.realised_pnl) == (0, 0, D("-25"))
        assert (p.bought, p.sold, p.last_fill_px) == (D("100"), D("100"), D("9.75"))

    def test_round_trip_with_repeating_average_realises_its_exact_cash_flow(self) -> None:
        # Average 10.666...; closed in three parts, each rounded, yet the total is exactly 3900 - 3200.
        p, realised = pos(
            (BUY, "100", "10"),
            (BUY, "200", "11"),
            (SELL, "100", "12"),
            (SELL, "100", "13"),
            (SELL, "100", "14"),
        )
        assert p.qty == 0
        assert sum(realised) == p.realised_pnl == D("700")  # (1200 + 1300 + 1400) - (1000 + 2200)
        assert realised[2:] == [
            D("133.333333333333333333333333"),
            D("233.333333333333333333333334"),
            D("333.333333333333333333333333"),
        ]

    def test_closing_a_repeating_average_in_one_fill_realises_exactly(self) -> None:
        p, realised = pos((BUY, "100", "10"), (BUY, "200", "11"), (SELL, "300", "12"))
        # avg_cost x 300 would be 3200.000000000000000000000001: the exact cost is used instead.
        assert (realised[-1], p.qty, p.avg_cost) == (D("400"), 0, 0)

    def test_flip_long_to_short_realises_the_closed_part_and_opens_the_rest_at_the_fill(self) -> None:
        p, realised = pos((BUY, "100", "10"), (BUY, "50", "13"), (SELL, "200", "12.5"))
        # avg 11; closes 150: (12.5 - 11) * 150; opens -50 at 12.5
        assert realised[-1] == D("225.0")
        assert (p.qty, p.avg_cost, p.realised_pnl) == (D("-50"), D("12.5"), D("225"))
        assert p.unrealised(D("12")) == D("25")

    def test_flip_short_to_long(self) -> None:
        p, realised = pos((SHORT, "10", "100"), (BUY, "25", "90"))
        assert realised[-1] == D("100")
        assert (p.qty, p.avg_cost) == (D("15"), D("90"))

    def test_unrealised_marks_the_open_quantity(self) -> None:
        long, _ = pos((BUY, "100", "10"), (BUY, "100", "11"))
        short, _ = pos((SHORT, "30", "20.5"))
        assert long.unrealised(D("10.75")) == D("50")  # (10.75 - 10.5) * 200
        assert short.unrealised(D("21")) == D("-15")  # (21 - 20.5) * -30
        assert long.unrealised(None) == 0

    def test_unrealised_is_zero_when_flat(self) -> None:
        p, _ = pos((BUY, "100", "10"), (SELL, "100", "11"))
        assert p.unrealised(D("50")) == 0

    @pytest.mark.parametrize(
        ("qty", "px"), [("0", "1"), ("-1", "1"), ("NaN", "1"), ("1", "NaN"), ("Infinity", "1")]
    )
    def test_invalid_fill_is_refused_and_changes_nothing(self, qty: str, px: str) -> None:
        p, _ = pos((BUY, "100", "10"))
        before = Position.from_doc(p.to_doc())
        with pytest.raises(ValueError, match="invalid fill"):
            p.apply_fill(BUY, D(qty), D(px), 9)
        assert p == before

    def test_doc_round_trip_is_json_and_exact(self) -> None:
        p = Position("C1", "ACC-7", "VOD.L")
        for side, q, px in ((BUY, "100", "10"), (BUY, "200", "11"), (SELL, "50", "12.000001")):
            p.apply_fill(side, D(q), D(px), 5)
        doc = json.loads(json.dumps(p.to_doc()))
        back = Position.from_doc(doc)
        assert back == p
        assert (back.avg_cost, back.cost, back.realised_pnl) == (p.avg_cost, p.cost, p.realised_pnl)
        assert str(back.realised_pnl) == str(p.realised_pnl)
        assert back.key() == ("C1", "ACC-7", "VOD.L")

    def test_doc_round_trip_without_fills(self) -> None:
        p = Position("C1", None, "X")
        assert Position.from_doc(json.loads(json.dumps(p.to_doc()))) == p


class TestPositionBook:
    def test_on_fill_keeps_one_position_per_client_account_symbol(self) -> None:
        book = PositionBook()
        a = book.on_fill("C1", None, "VOD.L", BUY, D("10"), D("1"), 1)
        b = book.on_fill("C1", "ACC", "VOD.L", BUY, D("20"), D("2"), 2)
        c = book.on_fill("C2", None, "VOD.L", SELL, D("5"), D("3"), 3)
        again = book.on_fill("C1", None, "VOD.L", BUY, D("10"), D("3"), 4)
        assert again is a
        assert (a.qty, a.avg_cost, a.updated_ns) == (D("20"), D("2"), 4)
        assert len({id(a), id(b), id(c)}) == 3
        assert len(book) == 3
        assert book.position("C1", "ACC", "VOD.L") is b
        assert book.position("C1", "ACC", "BARC.L") is None

    def test_net_qty_aggregates_accounts_of_one_client_only(self) -> None:
        book = PositionBook()
        book.on_fill("C1", "A", "VOD.L", BUY, D("100"), D("10"), 1)
        book.on_fill("C1", "B", "VOD.L", SHORT, D("30"), D("10"), 2)
        book.on_fill("C1", None, "VOD.L", SELL, D("120"), D("10"), 3)
        book.on_fill("C1", "A", "VOD.L", BUY, D("5.5"), D("10"), 4)
        book.on_fill("C2", "A", "VOD.L", BUY, D("1000"), D("10"), 5)
        book.on_fill("C1", "A", "BARC.L", BUY, D("7"), D("10"), 6)
        assert book.net_qty("C1", "VOD.L") == D("-44.5")
        assert book.net_qty("C2", "VOD.L") == D("1000")
        assert book.net_qty("C1", "BARC.L") == D("7")
        assert book.net_qty("C2", "BARC.L") == 0

    def test_realised_aggregates_per_client(self) -> None:
        book = PositionBook()
        book.on_fill("C1", "A", "VOD.L", BUY, D("100"), D("10"), 1)
        book.on_fill("C1", "A", "VOD.L", SELL, D("40"), D("10.25"), 2)  # +10
        book.on_fill("C1", "B", "BARC.L", SHORT, D("10"), D("5"), 3)
        book.on_fill("C1", "B", "BARC.L", BUY, D("10"), D("5.5"), 4)  # -5
        book.on_fill("C2", None, "VOD.L", BUY, D("1"), D("1"), 5)
        book.on_fill("C2", None, "VOD.L", SELL, D("1"), D("3"), 6)  # +2
        assert book.realised("C1") == D("5")
        assert book.realised("C2") == D("2")
        assert book.realised("C3") == 0

    def test_unrealised_marks_each_position_by_symbol(self) -> None:
        book = PositionBook()
        book.on_fill("C1", "A", "VOD.L", BUY, D("100"), D("10"), 1)
        book.on_fill("C1", "B", "VOD.L", SHORT, D("40"), D("11"), 2)
        book.on_fill("C1", "A", "BARC.L", BUY, D("10"), D("5"), 3)
        book.on_fill("C1", "A", "AAPL", BUY, D("10"), D("100"), 4)  # no mark: contributes nothing
        book.on_fill("C2", None, "VOD.L", BUY, D("1000"), D("1"), 5)
        marks = {"VOD.L": D("10.5"), "BARC.L": D("4.75")}
        # (10.5 - 10) * 100 + (10.5 - 11) * -40 + (4.75 - 5) * 10
        assert book.unrealised("C1", marks.get) == D("67.5")
        assert book.unrealised("C3", marks.get) == 0

    def test_positions_all_or_one_client_in_key_order(self) -> None:
        book = PositionBook()
        for client, account, symbol in [
            ("C2", None, "X"),
            ("C1", "B", "X"),
            ("C1", None, "Y"),
            ("C1", "A", "Z"),
        ]:
            book.on_fill(client, account, symbol, BUY, D("1"), D("1"), 1)
        assert [p.key() for p in book.positions()] == [
            ("C1", None, "Y"),
            ("C1", "A", "Z"),
            ("C1", "B", "X"),
            ("C2", None, "X"),
        ]
        assert [p.key() for p in book.positions("C2")] == [("C2", None, "X")]
        assert book.positions("C3") == []

    def test_restore_then_continue_matches_an_uninterrupted_book(self) -> None:
        fills = [
            ("C1", "A", "VOD.L", BUY, "100", "10"),
            ("C1", "B", "VOD.L", SHORT, "50", "10.2"),
            ("C1", "A", "VOD.L", BUY, "200", "11"),
            ("C2", None, "VOD.L", BUY, "10", "9"),
            ("C1", "A", "VOD.L", SELL, "100", "12"),
            ("C1", "B", "VOD.L", BUY, "80", "9.9"),
            ("C2", None, "VOD.L", SELL, "25", "9.5"),
        ]
        whole = PositionBook()
        for n, (c, a, s, side, q, px) in enumerate(fills):
            whole.on_fill(c, a, s, side, D(q), D(px), n)

        before = PositionBook()
        for n, (c, a, s, side, q, px) in enumerate(fills[:4]):
            before.on_fill(c, a, s, side, D(q), D(px), n)
        restored = PositionBook()
        restored.on_fill("C9", None, "JUNK", BUY, D("1"), D("1"), 0)  # replaced by restore
        restored.restore(Position.from_doc(json.loads(json.dumps(p.to_doc()))) for p in before.positions())
        for n, (c, a, s, side, q, px) in enumerate(fills[4:], 4):
            restored.on_fill(c, a, s, side, D(q), D(px), n)

        assert restored.positions() == whole.positions()
        assert restored.positions("C9") == []
        for client in ("C1", "C2"):
            assert restored.realised(client) == whole.realised(client)
            assert restored.net_qty(client, "VOD.L") == whole.net_qty(client, "VOD.L")
        assert restored.realised("C1") == D("148.333333333333333333333333")  # 1200 - 3200/3 + 15
        assert restored.net_qty("C1", "VOD.L") == D("230")
        assert restored.realised("C2") == D("5")

    def test_restore_refuses_duplicate_keys(self) -> None:
        with pytest.raises(ValueError, match="duplicate"):
            PositionBook().restore([Position("C1", None, "X"), Position("C1", None, "X")])


class TestPositionsCommand:
    """``fixgw positions`` on a real (SQLite) journal; the config is stubbed to what it reads."""

    @pytest.fixture
    def journal_url(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
        url = f"sqlite:///{tmp_path / 'journal.db'}"
        book = PositionBook()
        t = 1_732_000_000_000_000_000
        book.on_fill("CLIENT1", None, "AAPL", BUY, D("100"), D("185.5"), t)
        book.on_fill("CLIENT1", None, "AAPL", BUY, D("200"), D("186"), t + 1)
        book.on_fill("CLIENT1", None, "AAPL", SELL, D("100"), D("187"), t + 2)
        book.on_fill("CLIENT1", "ACC-1", "MSFT", SHORT, D("50"), D("410.25"), t + 3)
        book.on_fill("CLIENT2", "X", "MSFT", BUY, D("10"), D("411"), t + 4)
        book.on_fill("CLIENT2", "X", "MSFT", BUY, D("10"), D("412"), t + 5)
        records = [
            PositionRecord(
                p.client, p.account, p.symbol, str(p.qty), str(p.avg_cost), str(p.realised_pnl), p.to_doc(), 0
            )
            for p in book.positions()
        ]
        with Journal(url) as j:
            j.write([], [], records)
        cfg = SimpleNamespace(
            store=SimpleNamespace(url=url, synchronous="normal"),
            # AAPL has a reference price; MSFT's instrument predates the attribute.
            instruments={"AAPL": SimpleNamespace(reference_price=D("190")), "MSFT": object()},
        )
        monkeypatch.setattr(positions_cmd, "load", lambda path: cfg)
        return url

    def test_json_marks_at_latest_fill_in_the_symbol_else_reference_price(self, journal_url: str) -> None:
        result = CliRunner().invoke(positions_cmd.positions, ["--json", "--client", "CLIENT1"])
        assert result.exit_code == 0, result.output
        doc = json.loads(result.output)
        got = [
            (p["account"], p["symbol"], p["qty"], p["mark"], p["unrealised_pnl"]) for p in doc["positions"]
        ]
        # As the gateway marks: the latest trade wins over the configured reference (AAPL 190).
        # AAPL: 200 left at avg 185.8333.., last fill 187; MSFT marked at CLIENT2's later fill 412.
        assert got == [
            (None, "AAPL", "200", "187", "233.33333333333333333333333"),
            ("ACC-1", "MSFT", "-50", "412", "-87.50"),
        ]
        aapl = doc["positions"][0]
        # Rounded parts, exact whole: 18700 sold + 200 x 187 marked - 55750 bought.
        assert aapl["realised_pnl"] == "116.66666666666666666666667"
        assert D(aapl["realised_pnl"]) + D(aapl["unrealised_pnl"]) == D("350")
        assert (aapl["gross_exposure"], aapl["net_exposure"]) == ("37400", "37400")
        msft = doc["positions"][1]
        assert (msft["gross_exposure"], msft["net_exposure"]) == ("20600", "-20600")
        assert doc["totals"] == [
            {
                "client": "CLIENT1",
                "realised_pnl": "116.66666666666666666666667",
                "unrealised_pnl": "145.83333333333333333333333",
            }
        ]

    def test_table_has_every_client_with_totals(self, journal_url: str) -> None:
        result = CliRunner().invoke(positions_cmd.positions, [])
        assert result.exit_code == 0, result.output
        lines = [line.split() for line in result.output.splitlines()]
        assert lines[0] == [
            "Client",
            "Account",
            "Symbol",
            "Qty",
            "AvgCost",
            "Mark",
            "Realised",
            "Unrealised",
            "Gross",
            "Net",
        ]
        assert lines[1:] == [
            [
                "CLIENT1",
                "-",
                "AAPL",
                "200",
                "185.833333",
                "187",
                "116.666667",
                "233.333333",
                "37400",
                "37400",
            ],
            ["CLIENT1", "ACC-1", "MSFT", "-50", "410.25", "412", "0", "-87.5", "20600", "-20600"],
            ["CLIENT1", "TOTAL", "116.666667", "145.833333", "58000", "16800"],
            ["CLIENT2", "X", "MSFT", "20", "411.5", "412", "0", "10", "8240", "8240"],
            ["CLIENT2", "TOTAL", "0", "10", "8240", "8240"],
        ]

    def test_unknown_client_says_so(self, journal_url: str) -> None:
        result = CliRunner().invoke(positions_cmd.positions, ["--client", "NOBODY"])
        assert (result.exit_code, result.output) == (0, "no positions for client NOBODY in the journal\n")

    def test_config_error_is_one_line_and_fails(self, tmp_path: Path) -> None:
        result = CliRunner().invoke(positions_cmd.positions, ["--config", str(tmp_path / "nope.yaml")])
        assert result.exit_code == 1
        assert result.output.startswith("Error: ") and "file not found" in result.output
        assert result.output.count("\n") == 1
