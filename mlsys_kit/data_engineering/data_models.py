"""The same marketplace as relational tables, as documents and as a graph.

Serves Chapter 3 of *Designing Machine Learning Systems* (Chip Huyen, O'Reilly 2022), "Data
Models": the relational model (normalized tables joined at query time), the NoSQL document
model (one self-contained document per entity: locality, but duplicated shared data) and the
graph model (relationships as first-class data, for multi-hop questions), and "Structured
Versus Unstructured Data" (schema on write against schema on read).

The simulator (:mod:`mlsys_kit.sim`) draws users and their transactions. It has no items,
sellers, devices or cards, so :func:`normalize_marketplace` draws them beside it, seeded:
every order gets an item, every item a seller (a few sellers sell most items), every account
its own device and card, some accounts also use another account's device or card (a family, a
shared computer), and a planted *fraud ring* of accounts shares a small pool of devices and
cards. These side tables are simulated: they carry no fraud signal of the simulator's.

Three models of those data, all stored in SQLite (Python's :mod:`sqlite3`), so that the
comparisons measure the data model and not the engine:

* **relational** (:func:`load_relational`): ``users``, ``orders``, ``items``, ``sellers``,
  ``user_devices`` and ``user_cards``, ``STRICT`` tables with primary and foreign keys and the
  indexes a join needs;
* **documents** (:func:`load_documents`): one JSON document per user with its orders nested,
  each order embedding its item and the item's seller, in a keyed table of JSON text. SQLite's
  JSON functions (``json_each``, ``json_extract``) query inside documents, as a document store
  would; a plain JSON-lines file could not fetch one user without scanning the file;
* **graph** (:func:`account_graph`): a :mod:`networkx` graph whose nodes are accounts, devices
  and cards, and whose edges say who used what.

Why hand-written: each operation is the lesson itself (what a model makes one read, one write
or one traversal, and what it makes a join, many writes or a recursive query). The engines and
the graph library do the work; the functions only say it once, so that the notebook and the
tests use the same queries.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> from mlsys_kit.sim import simulate
>>> tables = normalize_marketplace(simulate(n_transactions=2_000, n_users=200, seed=1), seed=1)
>>> folder = Path(tempfile.mkdtemp())
>>> rel = load_relational(tables, folder / "rel.sqlite")
>>> docs = load_documents(user_documents(tables), folder / "docs.sqlite")
>>> user = int(tables.orders["user_id"].iloc[0])
>>> read_user_joined(rel, user) == read_user_document(docs, user)
True
>>> graph = account_graph(tables)
>>> linked_accounts(graph, tables.fraudster, 3) == linked_accounts_sql(rel, tables.fraudster, 3)
True
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlsys_kit.data_engineering.storage import sqlite_rows
from mlsys_kit.params import (
    ParameterError,
    Seed,
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_type,
    make_rng,
)
from mlsys_kit.results import Report

__all__ = [
    "MarketplaceTables",
    "normalize_marketplace",
    "load_relational",
    "user_documents",
    "load_documents",
    "read_user_joined",
    "read_user_document",
    "REVENUE_GROUPS",
    "revenue_from_tables",
    "revenue_from_documents",
    "rename_seller_row",
    "DocumentUpdate",
    "rename_seller_in_documents",
    "seller_name_copies",
    "account_graph",
    "linked_accounts",
    "linked_accounts_sql",
    "recursive_rows_sql",
    "StrictWrite",
    "write_orders_strict",
]

#: Item categories of the simulated catalogue.
_CATEGORIES = ("books", "electronics", "fashion", "games", "home", "sports")
#: The columns of an order as every model stores it (besides its item).
_ORDER_FIELDS = ("transaction_id", "timestamp", "amount", "n_items", "is_fraud")


@dataclass(frozen=True)
class MarketplaceTables:
    """The marketplace as normalized tables, with simulated items, sellers, devices and cards.

    Attributes
    ----------
    users : pandas.DataFrame
        ``user_id, signup_time, country`` (from the simulator).
    orders : pandas.DataFrame
        ``transaction_id, user_id, item_id, timestamp, amount, n_items, is_fraud``, one row
        per transaction, in time order.
    items : pandas.DataFrame
        ``item_id, seller_id, category`` (simulated).
    sellers : pandas.DataFrame
        ``seller_id, name`` (simulated).
    user_devices, user_cards : pandas.DataFrame
        ``user_id, device_id`` and ``user_id, card_id``: who used which device or card
        (simulated), one row per pair.
    ring : tuple of int
        The accounts of the planted fraud ring; the first is the known fraudster.
    """

    users: pd.DataFrame
    orders: pd.DataFrame
    items: pd.DataFrame
    sellers: pd.DataFrame
    user_devices: pd.DataFrame
    user_cards: pd.DataFrame
    ring: tuple[int, ...]

    @property
    def fraudster(self) -> int:
        """The ring's known fraudster: the account an investigation starts from."""
        return self.ring[0]


def normalize_marketplace(
    market: Any,
    *,
    n_items: int = 500,
    n_sellers: int = 50,
    share_rate: float = 0.1,
    ring_size: int = 12,
    seed: Seed = 0,
) -> MarketplaceTables:
    """Split a simulated marketplace into normalized tables, drawing the missing entities.

    Parameters
    ----------
    market : mlsys_kit.sim.Marketplace
        The simulation (its ``users`` and ``transactions``; re-delivered duplicates dropped).
    n_items : int, default 500
        Items in the catalogue; orders pick them with Zipf-like popularity.
    n_sellers : int, default 50
        Sellers; items pick them with Zipf-like weights, so a few sellers sell most items.
    share_rate : float, default 0.1
        Chance that an account also uses another account's device, and, independently, its
        card: the legitimate links that make neighbourhoods grow with hops.
    ring_size : int, default 12
        Accounts of the planted fraud ring (at least 2, at most the number of users). They
        share ``max(1, ring_size // 4)`` devices and as many cards.
    seed : int or numpy.random.Generator, default 0
        Seed of the simulated side tables.

    Returns
    -------
    MarketplaceTables

    Raises
    ------
    mlsys_kit.params.ParameterError
        For a market without ``users`` and ``transactions`` tables, sizes below 1, a
        ``share_rate`` outside [0, 1], or a ``ring_size`` outside [2, number of users].

    Examples
    --------
    >>> from mlsys_kit.sim import simulate
    >>> t = normalize_marketplace(simulate(n_transactions=1_000, n_users=100, seed=0))
    >>> len(t.orders), len(t.users), len(t.ring), t.fraudster in set(t.users["user_id"])
    (1000, 100, 12, True)
    >>> normalize_marketplace(simulate(n_transactions=100, n_users=5), ring_size=9)
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    mlsys_kit.params.ParameterError: normalize_marketplace: ring_size=9 is out of range: ...
    """
    owner = "normalize_marketplace"
    if not all(hasattr(market, name) for name in ("users", "transactions")):
        raise ParameterError(
            f"{owner}: market must be a simulated Marketplace (with users and transactions); "
            f"got {type(market).__name__}"
        )
    n_items = check_int("n_items", n_items, min=1, owner=owner)
    n_sellers = check_int("n_sellers", n_sellers, min=1, owner=owner)
    share_rate = check_float("share_rate", share_rate, min=0, max=1, owner=owner)
    n_users = len(market.users)
    ring_size = check_int("ring_size", ring_size, min=2, max=n_users, owner=owner)
    rng = make_rng(seed, owner=owner)

    users = market.users[["user_id", "signup_time", "country"]].reset_index(drop=True)
    users = users.assign(country=users["country"].astype(str))
    sellers = pd.DataFrame(
        {
            "seller_id": np.arange(n_sellers),
            "name": [f"Seller {k:03d}" for k in range(n_sellers)],
        }
    )
    items = pd.DataFrame(
        {
            "item_id": np.arange(n_items),
            "seller_id": rng.choice(n_sellers, size=n_items, p=_zipf(n_sellers)),
            "category": rng.choice(np.array(_CATEGORIES), size=n_items),
        }
    )
    tx = market.transactions.drop_duplicates("transaction_id").sort_values("timestamp")
    orders = pd.DataFrame(
        {
            "transaction_id": tx["transaction_id"].to_numpy(),
            "user_id": tx["user_id"].to_numpy(),
            "item_id": rng.choice(n_items, size=len(tx), p=_zipf(n_items)),
            "timestamp": tx["timestamp"].to_numpy(),
            "amount": tx["amount"].to_numpy(),
            "n_items": tx["n_items"].to_numpy(),
            "is_fraud": tx["is_fraud"].to_numpy(),
        }
    )
    user_ids = users["user_id"].to_numpy()
    ring = rng.choice(user_ids, size=ring_size, replace=False)
    user_devices = _uses(user_ids, ring, share_rate, rng)
    user_cards = _uses(user_ids, ring, share_rate, rng)
    return MarketplaceTables(
        users=users,
        orders=orders,
        items=items,
        sellers=sellers,
        user_devices=user_devices.rename(columns={"thing_id": "device_id"}),
        user_cards=user_cards.rename(columns={"thing_id": "card_id"}),
        ring=tuple(int(u) for u in ring),
    )


def _zipf(n: int) -> np.ndarray:
    weights = 1.0 / np.arange(1, n + 1)
    return weights / weights.sum()


def _uses(
    user_ids: np.ndarray, ring: np.ndarray, share_rate: float, rng: np.random.Generator
) -> pd.DataFrame:
    """Who uses which thing (device or card): one's own, sometimes another's, the ring's pool."""
    n = len(user_ids)
    own = pd.DataFrame({"user_id": user_ids, "thing_id": np.arange(n)})
    sharing = rng.random(n) < share_rate
    other = rng.integers(0, n - 1, size=n) if n > 1 else np.zeros(n, dtype=int)
    other = other + (other >= np.arange(n))  # someone else's thing, never one's own
    shared = pd.DataFrame({"user_id": user_ids[sharing], "thing_id": other[sharing]})
    pool = max(1, len(ring) // 4)
    ring_uses = pd.DataFrame(
        {"user_id": ring, "thing_id": n + rng.integers(0, pool, size=len(ring))}
    )
    ring_uses.loc[ring_uses.index[:pool], "thing_id"] = n + np.arange(min(pool, len(ring)))
    uses = pd.concat([own, shared, ring_uses], ignore_index=True)
    return uses.drop_duplicates().sort_values(["user_id", "thing_id"], ignore_index=True)


_SCHEMA = """
CREATE TABLE users (
    user_id INTEGER PRIMARY KEY, signup_time TEXT NOT NULL, country TEXT NOT NULL) STRICT;
CREATE TABLE sellers (seller_id INTEGER PRIMARY KEY, name TEXT NOT NULL) STRICT;
CREATE TABLE items (
    item_id INTEGER PRIMARY KEY, seller_id INTEGER NOT NULL REFERENCES sellers,
    category TEXT NOT NULL) STRICT;
CREATE TABLE orders (
    transaction_id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users,
    item_id INTEGER NOT NULL REFERENCES items, timestamp TEXT NOT NULL,
    amount REAL NOT NULL, n_items INTEGER NOT NULL, is_fraud INTEGER NOT NULL) STRICT;
CREATE INDEX orders_by_user ON orders (user_id);
CREATE TABLE user_devices (
    user_id INTEGER NOT NULL REFERENCES users, device_id INTEGER NOT NULL,
    PRIMARY KEY (user_id, device_id)) STRICT, WITHOUT ROWID;
CREATE INDEX devices_by_device ON user_devices (device_id, user_id);
CREATE TABLE user_cards (
    user_id INTEGER NOT NULL REFERENCES users, card_id INTEGER NOT NULL,
    PRIMARY KEY (user_id, card_id)) STRICT, WITHOUT ROWID;
CREATE INDEX cards_by_card ON user_cards (card_id, user_id);
"""


def _connect(path: str | Path, replace: bool, owner: str) -> sqlite3.Connection:
    path = Path(path)
    replace = check_bool("replace", replace, owner=owner)
    if path.exists() and not replace:
        raise ParameterError(
            f"{owner}: {path.name} already exists: pass replace=True to overwrite it"
        )
    path.unlink(missing_ok=True)
    connection = sqlite3.connect(path, isolation_level=None)  # autocommit: one statement, one tx
    connection.execute("PRAGMA foreign_keys = ON")
    return connection


def load_relational(
    tables: MarketplaceTables, path: str | Path, *, replace: bool = False
) -> sqlite3.Connection:
    """Store the tables, normalized, in a SQLite database file, and open it.

    Each fact is stored once: a seller's name is in ``sellers`` only, and an order refers to
    its item, the item to its seller. ``STRICT`` tables refuse values of the wrong type;
    ``NOT NULL`` refuses missing ones; foreign keys are enforced.

    Parameters
    ----------
    tables : MarketplaceTables
        From :func:`normalize_marketplace`.
    path : str or pathlib.Path
        The database file to create.
    replace : bool, default False
        Delete an existing file at ``path`` first.

    Returns
    -------
    sqlite3.Connection
        Open, in autocommit mode. Close it when done.

    Raises
    ------
    mlsys_kit.params.ParameterError
        For tables of the wrong type, or an existing file without ``replace``.
    """
    owner = "load_relational"
    check_type("tables", tables, MarketplaceTables, owner=owner)
    connection = _connect(path, replace, owner)
    connection.executescript(_SCHEMA)
    connection.execute("BEGIN")
    for name in ("users", "sellers", "items", "orders", "user_devices", "user_cards"):
        df = getattr(tables, name)
        marks = ", ".join("?" * df.shape[1])
        connection.executemany(f"INSERT INTO {name} VALUES ({marks})", sqlite_rows(df))
    connection.execute("COMMIT")
    connection.execute("ANALYZE")
    return connection


def user_documents(
    tables: MarketplaceTables,
    *,
    renamed_from: str | pd.Timestamp | None = None,
    new_name: str = "total",
    share: float = 1.0,
    seed: Seed = 0,
) -> dict[int, dict[str, Any]]:
    """One JSON-ready document per user: the user, with every order, its item and its seller.

    Parameters
    ----------
    tables : MarketplaceTables
        From :func:`normalize_marketplace`.
    renamed_from : str or pandas.Timestamp, optional
        Schema on read: orders at or after this time were written by a new version of the
        application, which stores the order's ``amount`` under ``new_name``. Nothing refuses
        such a document. ``None`` (default): every order has ``amount``.
    new_name : str, default "total"
        The field's new name.
    share : float, default 1.0
        Share of the orders from ``renamed_from`` on that the new version wrote (a gradual
        rollout), each drawn at random; the others keep ``amount``. 1.0: all of them.
    seed : int or numpy.random.Generator, default 0
        Seed of the draw of the new version's orders.

    Returns
    -------
    dict
        User id to document, in user order; orders in time order, timestamps as ISO text.

    Raises
    ------
    mlsys_kit.params.ParameterError
        For tables of the wrong type, a ``new_name`` that is an order field already, or a
        ``share`` outside [0, 1].

    Examples
    --------
    >>> from mlsys_kit.sim import simulate
    >>> t = normalize_marketplace(simulate(n_transactions=500, n_users=50, seed=0))
    >>> doc = user_documents(t)[int(t.orders["user_id"].iloc[0])]
    >>> sorted(doc)
    ['country', 'orders', 'signup_time', 'user_id']
    >>> sorted(doc["orders"][0])
    ['amount', 'is_fraud', 'item', 'n_items', 'timestamp', 'transaction_id']
    >>> doc["orders"][0]["item"]["seller"]
    {'seller_id': 0, 'name': 'Seller 000'}
    """
    owner = "user_documents"
    check_type("tables", tables, MarketplaceTables, owner=owner)
    check_type("new_name", new_name, str, owner=owner)
    if new_name in (*_ORDER_FIELDS, "item"):
        raise ParameterError(f"{owner}: new_name={new_name!r} is an order field already")
    share = check_float("share", share, min=0, max=1, owner=owner)
    new_version = make_rng(seed, owner=owner).random(len(tables.orders)) < share
    since = None if renamed_from is None else str(pd.Timestamp(renamed_from))
    seller_of = dict(zip(tables.sellers["seller_id"], tables.sellers["name"], strict=True))
    item_of = {
        int(i): {
            "item_id": int(i),
            "category": str(c),
            "seller": {"seller_id": int(s), "name": str(seller_of[s])},
        }
        for i, s, c in zip(
            tables.items["item_id"],
            tables.items["seller_id"],
            tables.items["category"],
            strict=True,
        )
    }
    docs: dict[int, dict[str, Any]] = {
        int(u): {"user_id": int(u), "signup_time": str(t), "country": str(c), "orders": []}
        for u, t, c in sqlite_rows(tables.users)
    }
    columns = ["user_id", "item_id", *_ORDER_FIELDS]
    rows = sqlite_rows(tables.orders[columns])
    for (user, item, tx, time, amount, n_items, fraud), new in zip(rows, new_version, strict=True):
        order = {"transaction_id": tx, "timestamp": time}
        order[new_name if new and since is not None and time >= since else "amount"] = amount
        order.update(n_items=n_items, is_fraud=fraud, item=_copy_item(item_of[item]))
        docs[user]["orders"].append(order)
    return docs


def _copy_item(item: dict[str, Any]) -> dict[str, Any]:
    return {**item, "seller": dict(item["seller"])}


def load_documents(
    documents: Mapping[int, Mapping[str, Any]], path: str | Path, *, replace: bool = False
) -> sqlite3.Connection:
    """Store one JSON document per user in a keyed SQLite table, and open it.

    The table is ``user_docs(user_id INTEGER PRIMARY KEY, doc TEXT)``: fetching a user is one
    B-tree look-up, and SQLite's JSON functions query inside the documents.

    Parameters
    ----------
    documents : mapping
        User id to document, from :func:`user_documents`.
    path : str or pathlib.Path
        The database file to create.
    replace : bool, default False
        Delete an existing file at ``path`` first.

    Returns
    -------
    sqlite3.Connection
        Open, in autocommit mode.

    Raises
    ------
    mlsys_kit.params.ParameterError
        For documents that are not a mapping, or an existing file without ``replace``.
    """
    owner = "load_documents"
    check_type("documents", documents, Mapping, owner=owner)
    connection = _connect(path, replace, owner)
    connection.execute("CREATE TABLE user_docs (user_id INTEGER PRIMARY KEY, doc TEXT NOT NULL)")
    connection.execute("BEGIN")
    connection.executemany(
        "INSERT INTO user_docs VALUES (?, ?)",
        ((int(u), json.dumps(d, separators=(",", ":"))) for u, d in documents.items()),
    )
    connection.execute("COMMIT")
    return connection


_USER_SQL = "SELECT user_id, signup_time, country FROM users WHERE user_id = ?"
_USER_ORDERS_SQL = """
SELECT o.transaction_id, o.timestamp, o.amount, o.n_items, o.is_fraud,
       i.item_id, i.category, s.seller_id, s.name
FROM orders o JOIN items i ON i.item_id = o.item_id JOIN sellers s ON s.seller_id = i.seller_id
WHERE o.user_id = ? ORDER BY o.timestamp, o.transaction_id"""


def read_user_joined(connection: sqlite3.Connection, user_id: int) -> dict[str, Any] | None:
    """Everything about one user from the relational tables: a user row and a four-table join.

    Returns the same document as :func:`read_user_document`, assembled from the join's rows,
    or ``None`` for an unknown user.
    """
    row = connection.execute(_USER_SQL, [int(user_id)]).fetchone()
    if row is None:
        return None
    orders = [
        {
            "transaction_id": tx,
            "timestamp": time,
            "amount": amount,
            "n_items": n_items,
            "is_fraud": fraud,
            "item": {
                "item_id": item,
                "category": category,
                "seller": {"seller_id": seller, "name": name},
            },
        }
        for tx, time, amount, n_items, fraud, item, category, seller, name in connection.execute(
            _USER_ORDERS_SQL, [int(user_id)]
        )
    ]
    return {"user_id": row[0], "signup_time": row[1], "country": row[2], "orders": orders}


def read_user_document(connection: sqlite3.Connection, user_id: int) -> dict[str, Any] | None:
    """Everything about one user from the document store: one keyed read, one parse.

    Returns ``None`` for an unknown user.
    """
    row = connection.execute(
        "SELECT doc FROM user_docs WHERE user_id = ?", [int(user_id)]
    ).fetchone()
    return None if row is None else json.loads(row[0])


#: What :func:`revenue_from_tables` and :func:`revenue_from_documents` group by.
REVENUE_GROUPS: tuple[str, ...] = ("seller", "day")
_GROUP_JOINED = {"seller": "s.seller_id, s.name", "day": "substr(o.timestamp, 1, 10)"}
_GROUP_DOCUMENTS = {
    "seller": "json_extract(o.value, '$.item.seller.seller_id'), "
    "json_extract(o.value, '$.item.seller.name')",
    "day": "substr(json_extract(o.value, '$.timestamp'), 1, 10)",
}
_NAMES = {"seller": ("seller_id", "name"), "day": ("day",)}
_REVENUE_JOINED = """
SELECT {group}, COUNT(*) AS orders, SUM(o.amount) AS revenue
FROM orders o JOIN items i ON i.item_id = o.item_id JOIN sellers s ON s.seller_id = i.seller_id
GROUP BY {group} ORDER BY {group}"""
_REVENUE_DOCUMENTS = """
SELECT {group}, COUNT(*) AS orders, SUM(json_extract(o.value, '$.{field}')) AS revenue
FROM user_docs, json_each(user_docs.doc, '$.orders') AS o
GROUP BY {group} ORDER BY {group}"""


def revenue_from_tables(connection: sqlite3.Connection, *, by: str = "seller") -> pd.DataFrame:
    """Orders and revenue per seller or per day, across all users: a join and a group-by.

    Parameters
    ----------
    connection : sqlite3.Connection
        From :func:`load_relational`.
    by : {"seller", "day"}
        The groups: ``seller_id, name`` or ``day`` (ISO date text).

    Returns
    -------
    pandas.DataFrame
        The group columns, ``orders`` and ``revenue``, ordered by group.

    Raises
    ------
    mlsys_kit.params.ParameterError
        For an unknown ``by``.
    """
    by = check_choice("by", by, REVENUE_GROUPS, owner="revenue_from_tables")
    cursor = connection.execute(_REVENUE_JOINED.format(group=_GROUP_JOINED[by]))
    return _frame(cursor, [*_NAMES[by], "orders", "revenue"])


def revenue_from_documents(
    connection: sqlite3.Connection, *, by: str = "seller", field: str = "amount"
) -> pd.DataFrame:
    """Orders and revenue per seller or per day, across all users, from inside every document.

    Every document is read and parsed (``json_each`` over its orders). ``field`` names the
    order's amount as the reader expects it (schema on read): orders that do not have it
    count as orders but add nothing to ``revenue`` (SQL's ``SUM`` skips missing values), and
    no error is raised.

    Parameters
    ----------
    connection : sqlite3.Connection
        From :func:`load_documents`.
    by : {"seller", "day"}
        The groups, as in :func:`revenue_from_tables`.
    field : str, default "amount"
        The field read as the order's amount.

    Returns
    -------
    pandas.DataFrame
        The same columns as :func:`revenue_from_tables`.

    Raises
    ------
    mlsys_kit.params.ParameterError
        For an unknown ``by``, or a ``field`` that is not a plain name.
    """
    owner = "revenue_from_documents"
    by = check_choice("by", by, REVENUE_GROUPS, owner=owner)
    if not isinstance(field, str) or not field.isidentifier():
        raise ParameterError(f"{owner}: field={field!r} must be a plain name (letters, digits, _)")
    sql = _REVENUE_DOCUMENTS.format(group=_GROUP_DOCUMENTS[by], field=field)
    return _frame(connection.execute(sql), [*_NAMES[by], "orders", "revenue"])


def _frame(cursor: sqlite3.Cursor, names: list[str]) -> pd.DataFrame:
    return pd.DataFrame(cursor.fetchall(), columns=names)


def rename_seller_row(connection: sqlite3.Connection, seller_id: int, name: str) -> int:
    """Rename a seller in the relational tables: one row, whatever it sold. Returns rows changed.

    Time renames that change the name: SQLite skips writing a row whose bytes do not change,
    so renaming a seller to the name it already has costs no write at all.
    """
    cursor = connection.execute(
        "UPDATE sellers SET name = ? WHERE seller_id = ?", [name, int(seller_id)]
    )
    return cursor.rowcount


@dataclass(frozen=True)
class DocumentUpdate(Report):
    """What renaming a seller cost in the document store.

    Attributes
    ----------
    documents_rewritten : int
        Documents read, changed and written back.
    copies_changed : int
        Copies of the seller's name changed in them (one per order of that seller).
    documents_missed : int
        Documents holding the seller that the update did not reach.
    stale_copies : int
        Copies of the old name left in those.
    """

    documents_rewritten: int
    copies_changed: int
    documents_missed: int
    stale_copies: int

    def to_frame(self) -> pd.DataFrame:
        """One row: the four counts."""
        return pd.DataFrame([self.__dict__])


_DOCS_OF_SELLER = """
SELECT user_id, doc FROM user_docs WHERE EXISTS (
    SELECT 1 FROM json_each(user_docs.doc, '$.orders') AS o
    WHERE json_extract(o.value, '$.item.seller.seller_id') = ?)
ORDER BY user_id"""


def rename_seller_in_documents(
    connection: sqlite3.Connection, seller_id: int, name: str, *, miss: int = 0
) -> DocumentUpdate:
    """Rename a seller in the document store: every document with one of its orders.

    The documents holding the seller are found (a scan of all documents), changed and
    written back, in one transaction. ``miss`` simulates an update that does not reach
    every copy (a failed batch, a document locked by another writer): the last ``miss``
    documents found are left as they were.

    Parameters
    ----------
    connection : sqlite3.Connection
        From :func:`load_documents`.
    seller_id : int
        The seller.
    name : str
        Its new name.
    miss : int, default 0
        Documents the update misses (at least 0).

    Returns
    -------
    DocumentUpdate

    Raises
    ------
    mlsys_kit.params.ParameterError
        For a negative ``miss``.
    """
    miss = check_int("miss", miss, min=0, owner="rename_seller_in_documents")
    found = connection.execute(_DOCS_OF_SELLER, [int(seller_id)]).fetchall()
    reached, missed = found[: max(0, len(found) - miss)], found[max(0, len(found) - miss) :]
    changes, copies = [], 0
    for user_id, text in reached:
        doc = json.loads(text)
        for order in doc["orders"]:
            seller = order["item"]["seller"]
            if seller["seller_id"] == seller_id:
                seller["name"] = name
                copies += 1
        changes.append((json.dumps(doc, separators=(",", ":")), user_id))
    connection.execute("BEGIN")
    connection.executemany("UPDATE user_docs SET doc = ? WHERE user_id = ?", changes)
    connection.execute("COMMIT")
    stale = sum(
        sum(o["item"]["seller"]["seller_id"] == seller_id for o in json.loads(text)["orders"])
        for _, text in missed
    )
    return DocumentUpdate(len(reached), copies, len(missed), int(stale))


def seller_name_copies(connection: sqlite3.Connection, seller_id: int) -> dict[str, int]:
    """How many copies of each name of a seller the document store holds (name to count)."""
    rows = connection.execute(
        """SELECT json_extract(o.value, '$.item.seller.name'), COUNT(*)
           FROM user_docs, json_each(user_docs.doc, '$.orders') AS o
           WHERE json_extract(o.value, '$.item.seller.seller_id') = ? GROUP BY 1 ORDER BY 1""",
        [int(seller_id)],
    ).fetchall()
    return {str(n): int(c) for n, c in rows}


def account_graph(tables: MarketplaceTables) -> Any:
    """The accounts, devices and cards as a :class:`networkx.Graph`.

    Nodes are ``("user", id)``, ``("device", id)`` and ``("card", id)``; an edge joins an
    account to each device and card it used. Two accounts that share a device are two edges
    apart: one *account hop*.

    Raises
    ------
    mlsys_kit.params.ParameterError
        For tables of the wrong type.
    """
    import networkx as nx  # imported here: only the graph model needs it

    check_type("tables", tables, MarketplaceTables, owner="account_graph")
    graph = nx.Graph()
    graph.add_nodes_from(("user", int(u)) for u in tables.users["user_id"])
    for kind, df in (("device", tables.user_devices), ("card", tables.user_cards)):
        graph.add_edges_from(
            (("user", int(u)), (kind, int(t))) for u, t in df.itertuples(index=False)
        )
    return graph


def linked_accounts(graph: Any, user_id: int, hops: int) -> dict[int, int]:
    """Accounts that share a device or a card with ``user_id``, within ``hops`` account hops.

    A breadth-first traversal (:func:`networkx.single_source_shortest_path_length`, cut off
    at ``2 * hops`` edges: account, device or card, account...) that visits each node once.

    Returns
    -------
    dict
        Account to its distance in account hops (1 to ``hops``), the start excluded.

    Raises
    ------
    mlsys_kit.params.ParameterError
        For ``hops < 1``, or an account that is not in the graph.
    """
    import networkx as nx

    owner = "linked_accounts"
    hops = check_int("hops", hops, min=1, owner=owner)
    start = ("user", int(user_id))
    if start not in graph:
        raise ParameterError(f"{owner}: account {user_id} is not in the graph")
    reached = nx.single_source_shortest_path_length(graph, start, cutoff=2 * hops)
    return {
        node[1]: distance // 2
        for node, distance in reached.items()
        if node[0] == "user" and node != start
    }


_LINKED_SQL = """
WITH RECURSIVE reach(user_id, hop) AS (
    SELECT ?1, 0
    UNION
    SELECT b.user_id, r.hop + 1 FROM reach r
    JOIN user_devices a ON a.user_id = r.user_id
    JOIN user_devices b ON b.device_id = a.device_id
    WHERE r.hop < ?2
    UNION
    SELECT b.user_id, r.hop + 1 FROM reach r
    JOIN user_cards a ON a.user_id = r.user_id
    JOIN user_cards b ON b.card_id = a.card_id
    WHERE r.hop < ?2
)
"""
_LINKED_ANSWER = "SELECT user_id, MIN(hop) FROM reach WHERE user_id != ?1 GROUP BY user_id"


def linked_accounts_sql(connection: sqlite3.Connection, user_id: int, hops: int) -> dict[int, int]:
    """The same question as :func:`linked_accounts`, as a recursive SQL query on the tables.

    Each step joins the accounts reached so far to ``user_devices`` (or ``user_cards``) and
    back again, a self-join per hop; ``UNION`` drops repeated ``(account, hop)`` rows, but an
    account reached at hop 1 is expanded again at hops 2, 3...

    Returns
    -------
    dict
        Account to its distance in account hops, the start excluded.

    Raises
    ------
    mlsys_kit.params.ParameterError
        For ``hops < 1``.
    """
    hops = check_int("hops", hops, min=1, owner="linked_accounts_sql")
    rows = connection.execute(_LINKED_SQL + _LINKED_ANSWER, [int(user_id), hops]).fetchall()
    return {int(u): int(h) for u, h in rows}


_JOIN_ROWS = """SELECT
    (SELECT COUNT(*) FROM reach r JOIN user_devices a ON a.user_id = r.user_id
     JOIN user_devices b ON b.device_id = a.device_id WHERE r.hop < ?2)
  + (SELECT COUNT(*) FROM reach r JOIN user_cards a ON a.user_id = r.user_id
     JOIN user_cards b ON b.card_id = a.card_id WHERE r.hop < ?2)"""


def recursive_rows_sql(
    connection: sqlite3.Connection, user_id: int, hops: int, *, before_union: bool = False
) -> int:
    """Rows the recursive query of :func:`linked_accounts_sql` produces.

    After ``UNION`` (default): one row per ``(account, hop)`` pair reached. An account found
    at hop 1 comes back at hop 2, 3... (the query walks back over the device it came by), so
    these rows grow with ``hops`` even once no new account is found. ``before_union=True``:
    the rows the self-joins produce from them, before ``UNION`` drops the repeats, which is
    the join work the query does.

    Raises
    ------
    mlsys_kit.params.ParameterError
        For ``hops < 1``.

    Examples
    --------
    >>> from mlsys_kit.sim import simulate
    >>> t = normalize_marketplace(simulate(n_transactions=500, n_users=50, seed=0), seed=0)
    >>> db = load_relational(t, ":memory:")
    >>> after = recursive_rows_sql(db, t.fraudster, 3)
    >>> before = recursive_rows_sql(db, t.fraudster, 3, before_union=True)
    >>> before >= after - 1  # every row but the start comes out of a join
    True
    """
    owner = "recursive_rows_sql"
    hops = check_int("hops", hops, min=1, owner=owner)
    before_union = check_bool("before_union", before_union, owner=owner)
    sql = _LINKED_SQL + (_JOIN_ROWS if before_union else "SELECT COUNT(*) FROM reach")
    return int(connection.execute(sql, [int(user_id), hops]).fetchone()[0])


@dataclass(frozen=True)
class StrictWrite(Report):
    """What a schema-on-write table did with a batch of records.

    Attributes
    ----------
    accepted : int
        Records stored.
    refused : int
        Records the table refused.
    first_error : str
        The database's message for the first refusal (``""`` if none).
    """

    accepted: int
    refused: int
    first_error: str

    def to_frame(self) -> pd.DataFrame:
        """One row: the counts and the first error."""
        return pd.DataFrame([self.__dict__])


_STRICT_ORDERS = """
CREATE TABLE IF NOT EXISTS order_log (
    transaction_id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, timestamp TEXT NOT NULL,
    amount REAL NOT NULL) STRICT"""
_STRICT_COLUMNS = ("transaction_id", "user_id", "timestamp", "amount")


def write_orders_strict(
    connection: sqlite3.Connection, records: Iterable[Mapping[str, Any]]
) -> StrictWrite:
    """Write order records into a schema-on-write table, one transaction each.

    The table ``order_log(transaction_id, user_id, timestamp, amount)`` is ``STRICT`` and
    every column ``NOT NULL``: a record whose ``amount`` is missing (a renamed field) or not
    a number is refused at write time with the database's error, and nothing of it is stored.

    Parameters
    ----------
    connection : sqlite3.Connection
        Any SQLite connection in autocommit mode; the table is created if needed.
    records : iterable of mapping
        Field name to value; fields beyond the table's columns are ignored, missing ones
        are written as NULL.

    Returns
    -------
    StrictWrite

    Examples
    --------
    >>> db = sqlite3.connect(":memory:", isolation_level=None)
    >>> write_orders_strict(db, [
    ...     {"transaction_id": 1, "user_id": 7, "timestamp": "2024-01-01", "amount": 9.5},
    ...     {"transaction_id": 2, "user_id": 7, "timestamp": "2024-01-02", "total": 3.0},
    ... ])
    StrictWrite(accepted=1, refused=1, first_error='NOT NULL constraint failed: order_log.amount')
    """
    connection.execute(_STRICT_ORDERS)
    accepted, refused, first_error = 0, 0, ""
    marks = ", ".join("?" * len(_STRICT_COLUMNS))
    for record in records:
        if not isinstance(record, Mapping):
            raise ParameterError(
                f"write_orders_strict: each record must be a mapping of field to value; "
                f"got {type(record).__name__}"
            )
        try:
            connection.execute(
                f"INSERT INTO order_log VALUES ({marks})", [record.get(c) for c in _STRICT_COLUMNS]
            )
            accepted += 1
        except sqlite3.IntegrityError as err:
            refused += 1
            first_error = first_error or str(err)
    return StrictWrite(accepted, refused, first_error)
