"""Tests of mlsys_kit.data_engineering.data_models: three data models of one marketplace."""

from __future__ import annotations

import sqlite3

import pandas as pd
import pytest

from mlsys_kit.data_engineering.data_models import (
    DocumentUpdate,
    MarketplaceTables,
    StrictWrite,
    account_graph,
    linked_accounts,
    linked_accounts_sql,
    load_documents,
    load_relational,
    normalize_marketplace,
    read_user_document,
    read_user_joined,
    recursive_rows_sql,
    rename_seller_in_documents,
    rename_seller_row,
    revenue_from_documents,
    revenue_from_tables,
    seller_name_copies,
    user_documents,
    write_orders_strict,
)
from mlsys_kit.params import ParameterError
from mlsys_kit.sim import simulate


@pytest.fixture(scope="module")
def market():
    return simulate(n_transactions=3_000, n_users=300, seed=2)


@pytest.fixture(scope="module")
def tables(market) -> MarketplaceTables:
    return normalize_marketplace(market, n_items=80, n_sellers=10, share_rate=0.3, seed=2)


@pytest.fixture
def stores(tables, tmp_path):
    rel = load_relational(tables, tmp_path / "rel.sqlite")
    docs = load_documents(user_documents(tables), tmp_path / "docs.sqlite")
    yield rel, docs
    rel.close()
    docs.close()


def test_normalize_keeps_every_order_and_draws_the_side_tables(market, tables):
    assert len(tables.orders) == market.transactions["transaction_id"].nunique()
    assert tables.orders["timestamp"].is_monotonic_increasing
    assert set(tables.orders["item_id"]) <= set(tables.items["item_id"])
    assert set(tables.items["seller_id"]) <= set(tables.sellers["seller_id"])
    assert len(set(tables.ring)) == 12
    # every account uses its own device and card
    assert set(tables.user_devices["user_id"]) == set(tables.users["user_id"])
    assert set(tables.user_cards["user_id"]) == set(tables.users["user_id"])


def test_normalize_is_seeded(market, tables):
    again = normalize_marketplace(market, n_items=80, n_sellers=10, share_rate=0.3, seed=2)
    pd.testing.assert_frame_equal(again.orders, tables.orders)
    assert again.ring == tables.ring
    other = normalize_marketplace(market, n_items=80, n_sellers=10, share_rate=0.3, seed=3)
    assert other.ring != tables.ring


def test_no_sharing_leaves_only_the_ring_linked(market):
    tables = normalize_marketplace(market, share_rate=0.0, ring_size=8, seed=0)
    linked = linked_accounts(account_graph(tables), tables.fraudster, 10)
    assert set(linked) <= set(tables.ring[1:])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_items": 0}, "n_items=0"),
        ({"n_sellers": -1}, "n_sellers=-1"),
        ({"share_rate": 1.5}, "share_rate=1.5"),
        ({"ring_size": 1}, "ring_size=1"),
        ({"ring_size": 301}, "ring_size ≤ 300"),
    ],
)
def test_normalize_refuses_bad_values(market, kwargs, message):
    with pytest.raises(ParameterError, match=message):
        normalize_marketplace(market, **kwargs)


def test_normalize_refuses_what_is_not_a_marketplace():
    with pytest.raises(ParameterError, match="must be a simulated Marketplace"):
        normalize_marketplace(pd.DataFrame())


def test_one_user_is_the_same_from_the_join_and_from_the_document(tables, stores):
    rel, docs = stores
    for user in tables.users["user_id"].iloc[:20]:
        assert read_user_joined(rel, user) == read_user_document(docs, user)
    assert read_user_joined(rel, 10**9) is None
    assert read_user_document(docs, 10**9) is None


@pytest.mark.parametrize("by", ["seller", "day"])
def test_revenue_is_the_same_from_tables_and_documents(stores, by):
    rel, docs = stores
    joined, documents = revenue_from_tables(rel, by=by), revenue_from_documents(docs, by=by)
    pd.testing.assert_frame_equal(joined.round(6), documents.round(6))


def test_revenue_refuses_unknown_groups_and_fields(stores):
    rel, docs = stores
    with pytest.raises(ParameterError, match="by='country'.*'seller', 'day'"):
        revenue_from_tables(rel, by="country")
    with pytest.raises(ParameterError, match="field='a.b' must be a plain name"):
        revenue_from_documents(docs, field="a.b")


def test_renaming_a_seller_is_one_row_or_many_documents(tables, stores):
    rel, docs = stores
    seller = int(tables.items.loc[tables.orders["item_id"].iloc[0], "seller_id"])
    orders_of_seller = tables.orders["item_id"].map(tables.items["seller_id"]) == seller
    buyers = tables.orders.loc[orders_of_seller, "user_id"].nunique()
    assert rename_seller_row(rel, seller, "Renamed") == 1
    update = rename_seller_in_documents(docs, seller, "Renamed")
    assert update == DocumentUpdate(buyers, int(orders_of_seller.sum()), 0, 0)
    assert seller_name_copies(docs, seller) == {"Renamed": int(orders_of_seller.sum())}
    pd.testing.assert_frame_equal(
        revenue_from_tables(rel).round(6), revenue_from_documents(docs).round(6)
    )


def test_a_missed_document_leaves_stale_copies(tables, stores):
    _, docs = stores
    seller = int(tables.items.loc[tables.orders["item_id"].iloc[0], "seller_id"])
    before = seller_name_copies(docs, seller)
    update = rename_seller_in_documents(docs, seller, "New name", miss=2)
    assert update.documents_missed == 2
    assert update.stale_copies >= 2
    assert seller_name_copies(docs, seller) == {
        "New name": update.copies_changed,
        **dict.fromkeys(before, update.stale_copies),
    }
    assert list(update.to_frame().columns) == [
        "documents_rewritten",
        "copies_changed",
        "documents_missed",
        "stale_copies",
    ]
    with pytest.raises(ParameterError, match="miss=-1"):
        rename_seller_in_documents(docs, seller, "x", miss=-1)


@pytest.mark.parametrize("hops", [1, 2, 3, 5])
def test_the_traversal_and_the_recursive_query_agree(tables, stores, hops):
    rel, _ = stores
    graph = account_graph(tables)
    for start in [tables.fraudster, *tables.users["user_id"].iloc[:5]]:
        assert linked_accounts(graph, start, hops) == linked_accounts_sql(rel, start, hops)


def test_hop_distances_and_recursive_rows(tables, stores):
    rel, _ = stores
    graph = account_graph(tables)
    one, three = (
        linked_accounts(graph, tables.fraudster, 1),
        linked_accounts(graph, tables.fraudster, 3),
    )
    assert set(one) <= set(three)
    assert set(one.values()) == {1}
    assert max(three.values()) <= 3
    assert all(three[u] == 1 for u in one)
    rows = [recursive_rows_sql(rel, tables.fraudster, h) for h in (1, 2, 3, 4)]
    assert rows == sorted(rows)
    assert rows[-1] > len(linked_accounts(graph, tables.fraudster, 4))
    joined = [recursive_rows_sql(rel, tables.fraudster, h, before_union=True) for h in (1, 4)]
    assert joined[0] >= rows[0] - 1  # every row but the start comes out of a join
    assert joined[1] > rows[-1]  # the joins produce the repeats that UNION then drops
    with pytest.raises(ParameterError, match="before_union"):
        recursive_rows_sql(rel, tables.fraudster, 2, before_union="yes")


def test_hops_must_be_positive_and_the_account_known(tables, stores):
    rel, _ = stores
    graph = account_graph(tables)
    with pytest.raises(ParameterError, match="hops=0"):
        linked_accounts(graph, tables.fraudster, 0)
    with pytest.raises(ParameterError, match="hops=0"):
        linked_accounts_sql(rel, tables.fraudster, 0)
    with pytest.raises(ParameterError, match="hops=0"):
        recursive_rows_sql(rel, tables.fraudster, 0)
    with pytest.raises(ParameterError, match="account 123456789 is not in the graph"):
        linked_accounts(graph, 123456789, 2)
    with pytest.raises(ParameterError, match="tables must be a MarketplaceTables"):
        account_graph({"users": []})


def test_renamed_field_is_silently_missing_when_read_by_its_old_name(tables, tmp_path):
    since = tables.orders["timestamp"].iloc[len(tables.orders) // 2]
    docs = load_documents(
        user_documents(tables, renamed_from=since), tmp_path / "v2.sqlite", replace=True
    )
    read = revenue_from_documents(docs, by="day")
    new = tables.orders["timestamp"] >= since
    assert read["orders"].sum() == len(tables.orders)  # every order is still counted
    assert read["revenue"].sum() == pytest.approx(tables.orders.loc[~new, "amount"].sum())
    renamed = revenue_from_documents(docs, by="day", field="total")
    assert renamed["revenue"].sum() == pytest.approx(tables.orders.loc[new, "amount"].sum())
    with pytest.raises(ParameterError, match="new_name='amount' is an order field"):
        user_documents(tables, renamed_from=since, new_name="amount")


def test_a_partial_rollout_renames_a_share_of_the_new_orders(tables):
    since = tables.orders["timestamp"].iloc[len(tables.orders) // 2]
    new = int((tables.orders["timestamp"] >= since).sum())

    def renamed(share, seed=0):
        docs = user_documents(tables, renamed_from=since, share=share, seed=seed)
        return sum("total" in o for d in docs.values() for o in d["orders"])

    assert renamed(0.0) == 0
    assert renamed(1.0) == new
    assert 0.1 * new < renamed(0.3) < 0.5 * new
    assert renamed(0.3, seed=1) == renamed(0.3, seed=1)
    with pytest.raises(ParameterError, match="share=1.5"):
        user_documents(tables, renamed_from=since, share=1.5)


def test_the_strict_table_refuses_the_renamed_field_at_write_time():
    db = sqlite3.connect(":memory:", isolation_level=None)
    records = [
        {"transaction_id": 1, "user_id": 1, "timestamp": "2024-01-01", "amount": 2.5},
        {"transaction_id": 2, "user_id": 1, "timestamp": "2024-01-01", "total": 2.5},
        {"transaction_id": 3, "user_id": 1, "timestamp": "2024-01-01", "amount": "2.5 USD"},
    ]
    result = write_orders_strict(db, records)
    assert result == StrictWrite(1, 2, "NOT NULL constraint failed: order_log.amount")
    assert db.execute("SELECT COUNT(*) FROM order_log").fetchone() == (1,)
    assert result.to_frame().shape == (1, 3)
    with pytest.raises(ParameterError, match="each record must be a mapping"):
        write_orders_strict(db, [(4, 1, "2024-01-01", 1.0)])


def test_stores_refuse_to_overwrite_without_replace(tables, tmp_path):
    path = tmp_path / "rel.sqlite"
    load_relational(tables, path).close()
    with pytest.raises(ParameterError, match="rel.sqlite already exists: pass replace=True"):
        load_relational(tables, path)
    load_relational(tables, path, replace=True).close()
    with pytest.raises(ParameterError, match="documents must be a Mapping"):
        load_documents([1, 2], tmp_path / "d.sqlite")
    with pytest.raises(ParameterError, match="tables must be a MarketplaceTables"):
        load_relational("tables", tmp_path / "x.sqlite")
