from decimal import Decimal
from pathlib import Path

import pytest

from gateway.backtest.orders_csv import parse_orders_csv
from gateway.config import ConfigError
from gateway.orders.enums import OrdType, Side, TimeInForce

HEADER = "time,client,action,cl_ord_id,symbol,side,qty,price,ord_type,tif,orig_cl_ord_id\n"


def write(tmp_path: Path, body: str, header: str = HEADER) -> Path:
    p = tmp_path / "orders.csv"
    p.write_text(header + body)
    return p


def test_rows_parse_with_offsets_instants_and_defaults(tmp_path):
    rows = parse_orders_csv(write(tmp_path, (
        "+5s,C1,new,A1,ESH4,buy,5,4804.50,,,\n"
        "2023-12-25T23:01:02.5Z,C1,new,A2,ESH4,SELL,3,,market,ioc,\n"
        "\n"
        "+250ms,C1,replace,A3,ESH4,buy,6,4804.25,limit,day,A1\n"
        "+1m,C1,cancel,A4,ESH4,buy,,,,,A1\n"
    )))  # fmt: skip
    assert [r.line for r in rows] == [2, 3, 5, 6]
    a1, a2, a3, a4 = rows
    assert (a1.offset_ns, a1.at_ns, a1.side, a1.qty, a1.price) == (
        5_000_000_000,
        None,
        Side.BUY,
        5,
        Decimal("4804.50"),
    )
    assert (a1.ord_type, a1.tif) == (OrdType.LIMIT, TimeInForce.DAY)
    assert a2.at_ns == 1703545262_500_000_000 and a2.ord_type is OrdType.MARKET and a2.tif is TimeInForce.IOC
    assert a2.time_ns(0) == a2.at_ns and a1.time_ns(100) == 5_000_000_100
    assert (a3.action, a3.orig_cl_ord_id, a3.offset_ns) == ("replace", "A1", 250_000_000)
    assert a4.action == "cancel" and a4.qty is None and a4.offset_ns == 60_000_000_000


@pytest.mark.parametrize(
    ("row", "where"),
    [
        ("soon,C1,new,A1,ESH4,buy,5,1,,,", "line 2: time: expected an ISO-8601 time"),
        ("+1s,C1,buy,A1,ESH4,buy,5,1,,,", "line 2: action: expected one of new, cancel, replace"),
        ("+1s,C1,new,A1,ESH4,up,5,1,,,", "line 2: side: expected buy, sell or sell_short"),
        ("+1s,C1,new,A1,ESH4,buy,-5,1,,,", "line 2: qty: expected a positive number"),
        ("+1s,C1,new,A1,ESH4,buy,5,,limit,,", "line 2: price: required for a limit order"),
        ("+1s,C1,new,A1,ESH4,buy,5,1,stop,,", "line 2: ord_type: expected limit or market"),
        ("+1s,C1,new,A1,ESH4,buy,5,1,,gtd,", "line 2: tif: expected day, gtc, ioc or fok"),
        ("+1s,C1,cancel,A1,ESH4,buy,,,,,A0", "line 2: orig_cl_ord_id: no earlier order 'A0'"),
        (
            "+1s,C1,new,A1,ESH4,buy,5,1,,,\n+2s,C1,new,A1,ESH4,buy,5,1,,,",
            "line 3: cl_ord_id: ClOrdID 'A1' already used",
        ),
        ("+1s,C1,new,A1,ESH4,buy,5,1,,", "line 2: expected 11 cells, got 10"),
    ],
)
def test_bad_rows_name_file_line_and_column(tmp_path, row, where):
    with pytest.raises(ConfigError) as exc:
        parse_orders_csv(write(tmp_path, row + "\n"))
    assert "orders.csv: " in str(exc.value) and where in str(exc.value)


def test_bad_header(tmp_path):
    with pytest.raises(ConfigError, match="line 1: missing column"):
        parse_orders_csv(write(tmp_path, "", header="time,client\n"))
