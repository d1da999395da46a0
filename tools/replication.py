"""DynamoDB global tables (version 2019.11.21) simulated inside the emulator.

moto keeps one DynamoDB backend per Region and never copies data between
them. Global tables do, asynchronously, and resolve concurrent writes to one
item last-writer-wins while every condition expression sees only the local
replica. The project's store must stay correct under exactly that (DESIGN.md,
invariant 8), so this module makes moto behave that way:

* Every successful write to a table in a listed Region (PutItem, UpdateItem,
  DeleteItem, the puts and deletes of BatchWriteItem, the Put/Update/Delete
  of a TransactWriteItems that commits) is captured with the item's whole new
  image, or its deletion, and a write timestamp. A failed write (condition
  check failed, validation error, cancelled transaction) captures nothing. A
  write that leaves the item unchanged captures nothing either: it writes no
  stream record, and global tables replicate from the stream.
* Each capture is delivered to the same-named table in every other listed
  Region after a uniformly random delay. There it replaces the whole item (or
  deletes it), bypassing conditions, but only if its timestamp is newer than
  the version that Region holds for that item (its own local write or an
  earlier delivery); otherwise it is dropped (last writer wins). A delivery to
  a Region where the table does not exist is dropped silently.
* PartiQL writes (ExecuteStatement, ExecuteTransaction) and TTL expiry are not
  replicated.

Environment, read when the emulator starts:

  EMULATOR_REPLICATE_REGIONS     comma list, e.g. us-east-1,eu-west-1
                                 (absent or empty: all of this is off)
  EMULATOR_REPLICATION_DELAY_MS  MIN-MAX delay per delivery (default 0-300)
  EMULATOR_REPLICATION_SEED      integer seed for the delays (default random)

When on, GET /_replication on the emulator answers
{"captured":N,"applied":N,"dropped_lww":N,"pending":N}: writes captured,
deliveries applied, deliveries dropped by last-writer-wins, and deliveries
not yet applied or dropped. Wait for "pending" to reach 0 for convergence.
"""

import copy
import functools
import heapq
import inspect
import itertools
import json
import os
import random
import sys
import threading
import time
from typing import Any, NamedTuple

from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends
from moto.dynamodb.models.dynamo_type import DynamoType

REGIONS_ENV = "EMULATOR_REPLICATE_REGIONS"
DELAY_ENV = "EMULATOR_REPLICATION_DELAY_MS"
SEED_ENV = "EMULATOR_REPLICATION_SEED"
STATS_PATH = "/_replication"

# One lock around every write in a replicated Region, its capture, and every
# delivery: two writes to one item are captured in the order they happened,
# and a delivery never interleaves with a local write. Reentrant, because
# moto's transact_write_items calls put_item/update_item/delete_item.
_lock = threading.RLock()
# The delivery queue: a heap of (due, sequence, Delivery), monotonic time.
_queue = threading.Condition()
_heap: list = []
_sequence = itertools.count()
# The keys a TransactWriteItems on this thread has touched so far, with their
# images before it; None outside a transaction.
_local = threading.local()

# Set by activate(), guarded by _lock from then on.
_regions: tuple[str, ...] = ()
_delay_ms = (0.0, 300.0)
_random = random.Random()
_last_ns = 0
# (region, table name, (hash, range)) -> timestamp of the version held there.
_versions: dict[tuple, int] = {}
_stats = {"captured": 0, "applied": 0, "dropped_lww": 0, "pending": 0}


class Delivery(NamedTuple):
    account: str
    region: str  # the target Region
    table: str
    key: tuple  # (hash DynamoType, range DynamoType or None)
    image: dict | None  # attribute name -> DynamoType; None: deleted
    timestamp: int


def stats() -> dict[str, int]:
    with _lock:
        return dict(_stats)


# --- capture ----------------------------------------------------------------


def _key_of(table, attrs: dict) -> tuple:
    range_value = attrs[table.range_key_attr] if table.range_key_attr else None
    return (
        DynamoType(attrs[table.hash_key_attr]),
        DynamoType(range_value) if range_value is not None else None,
    )


def _image(table, key: tuple) -> dict | None:
    """A private copy of the item's attributes, None when it does not exist."""
    item = table.get_item(*key) if table is not None else None
    return dict(copy.deepcopy(item.attrs)) if item is not None else None


def _timestamp() -> int:
    """Strictly increasing across all Regions, so no two writes tie."""
    global _last_ns
    _last_ns = max(_last_ns + 1, time.time_ns())
    return _last_ns


def _record(backend, table_name: str, key: tuple, before, after) -> None:
    """Captures one committed write (under _lock) and queues its deliveries."""
    if before == after:
        return  # no change: no stream record, nothing to replicate
    timestamp = _timestamp()
    _versions[(backend.region_name, table_name, key)] = timestamp
    _stats["captured"] += 1
    now = time.monotonic()
    with _queue:
        for region in _regions:
            if region == backend.region_name:
                continue
            delivery = Delivery(
                backend.account_id, region, table_name, key, after, timestamp
            )
            due = now + _random.uniform(*_delay_ms) / 1000
            heapq.heappush(_heap, (due, next(_sequence), delivery))
            _stats["pending"] += 1
        _queue.notify()


def _capturing(method, key_parameter: str):
    """Wraps put_item/update_item/delete_item: the original call and the
    capture of its result happen under one hold of _lock."""
    signature = inspect.signature(method)

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        if self.region_name not in _regions:
            return method(self, *args, **kwargs)
        with _lock:
            try:
                arguments = signature.bind(self, *args, **kwargs).arguments
                table = self.get_table(arguments["table_name"])  # name or ARN
                key = _key_of(table, arguments[key_parameter])
            except Exception:  # noqa: BLE001 - moto raises the real error below
                return method(self, *args, **kwargs)
            touched = getattr(_local, "touched", None)
            if touched is not None:  # inside a transaction: captured at commit
                touched.setdefault((table.name, key), _image(table, key))
                return method(self, *args, **kwargs)
            before = _image(table, key)
            result = method(self, *args, **kwargs)  # raises: nothing captured
            _record(self, table.name, key, before, _image(table, key))
            return result

    return wrapper


def _transacting(method):
    """Wraps transact_write_items: its writes are captured only if it commits
    (moto rolls a cancelled one back by restoring copies of the tables)."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        if self.region_name not in _regions:
            return method(self, *args, **kwargs)
        with _lock:
            _local.touched = {}
            try:
                result = method(self, *args, **kwargs)
            finally:
                touched, _local.touched = _local.touched, None
            for (table_name, key), before in touched.items():
                after = _image(self.tables.get(table_name), key)
                _record(self, table_name, key, before, after)
            return result

    return wrapper


# --- delivery ---------------------------------------------------------------


def _apply(delivery: Delivery) -> None:
    """Applies one delivery last-writer-wins. It writes through moto's Table
    methods, which are not wrapped, so a replicated write is never captured
    again (and the replica's stream records it, as AWS's does)."""
    with _lock:
        try:
            backend = dynamodb_backends[delivery.account][delivery.region]
            table = backend.tables.get(delivery.table)
            version = (delivery.region, delivery.table, delivery.key)
            if table is None:
                pass  # no replica in that Region: dropped silently
            elif _versions.get(version, 0) >= delivery.timestamp:
                _stats["dropped_lww"] += 1
            else:
                if delivery.image is None:
                    table.delete_item(*delivery.key)
                else:
                    table.put_item(copy.deepcopy(delivery.image))
                _versions[version] = delivery.timestamp
                _stats["applied"] += 1
        except Exception as error:  # noqa: BLE001 - keep delivering the rest
            print(f"replication: {delivery.region} {delivery.table}: {error!r}",
                  file=sys.stderr)  # fmt: skip
        finally:
            _stats["pending"] -= 1


def _deliver_forever() -> None:
    while True:
        with _queue:
            while not _heap or _heap[0][0] > time.monotonic():
                _queue.wait(_heap[0][0] - time.monotonic() if _heap else None)
            _, _, delivery = heapq.heappop(_heap)
        _apply(delivery)  # outside _queue: _record takes _lock, then _queue


# --- HTTP counters ----------------------------------------------------------


def with_stats_route(app_class):
    """A subclass of moto's WSGI dispatcher that answers GET /_replication and
    passes every other request to moto."""

    class ReplicationStatsApp(app_class):
        def __call__(self, environ, start_response):
            if environ.get("PATH_INFO") == STATS_PATH and environ.get(
                "REQUEST_METHOD"
            ) in ("GET", "HEAD"):
                body = json.dumps(stats()).encode()
                start_response(
                    "200 OK",
                    [("Content-Type", "application/json"),
                     ("Content-Length", str(len(body)))],
                )  # fmt: skip
                return [body]
            return super().__call__(environ, start_response)

    return ReplicationStatsApp


# --- activation -------------------------------------------------------------


def _parse_delay(text: str) -> tuple[float, float]:
    low, _, high = text.partition("-")
    low, high = float(low), float(high or low)
    if not 0 <= low <= high:
        raise ValueError(f"{DELAY_ENV} must be MIN-MAX with 0 <= MIN <= MAX")
    return low, high


def activate(environ=os.environ) -> bool:
    """Reads the environment; when Regions are listed, wraps moto's DynamoDB
    backend, starts the delivery thread and installs the /_replication route
    in moto.server. Returns whether replication is on."""
    global _regions, _delay_ms
    regions = [r.strip() for r in environ.get(REGIONS_ENV, "").split(",")]
    regions = tuple(r for r in regions if r)
    if not regions:
        return False
    _regions = regions
    _delay_ms = _parse_delay(environ.get(DELAY_ENV) or "0-300")
    seed = environ.get(SEED_ENV)
    _random.seed(int(seed) if seed else None)
    for name, key_parameter in (
        ("put_item", "item_attrs"),
        ("update_item", "key"),
        ("delete_item", "key"),
    ):
        method = getattr(DynamoDBBackend, name)
        setattr(DynamoDBBackend, name, _capturing(method, key_parameter))
    DynamoDBBackend.transact_write_items = _transacting(
        DynamoDBBackend.transact_write_items
    )
    threading.Thread(target=_deliver_forever, name="replication", daemon=True).start()

    import moto.server  # the route: moto.server.main builds this class's app

    moto.server.DomainDispatcherApplication = with_stats_route(
        moto.server.DomainDispatcherApplication
    )
    return True
