"""Checks tools/replication.py against a real emulator process.

Usage: .venv/bin/python tools/replication_selftest.py [--port 5123]

Starts tools/emulator.py with replication between us-east-1 and eu-west-1
(delay 200-400 ms, so the concurrent writes below both land before either is
delivered), then shows: an update replicates; two concurrent conditional
updates both succeed locally and converge on the later one (last writer
wins: the earlier, larger value is lost); a delete replicates; a conditional
write that fails captures nothing; GET /_replication counts it all.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import boto3

A, B = "us-east-1", "eu-west-1"
TABLE = "replication-selftest"


def _wait_for_port(port: int, process) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            assert process.poll() is None, "emulator exited"
            assert time.monotonic() < deadline, "emulator did not start"
            time.sleep(0.1)


def _stats(endpoint: str) -> dict:
    with urllib.request.urlopen(f"{endpoint}/_replication") as response:
        return json.loads(response.read())


def _converge(endpoint: str) -> dict:
    deadline = time.monotonic() + 10
    while (stats := _stats(endpoint))["pending"]:
        assert time.monotonic() < deadline, stats
        time.sleep(0.05)
    return stats


def _v(client, pk: str):
    item = client.get_item(TableName=TABLE, Key={"pk": {"S": pk}}).get("Item")
    return item and item.get("v", {}).get("N")


def _raise_to(client, pk: str, value: int) -> None:
    client.update_item(
        TableName=TABLE,
        Key={"pk": {"S": pk}},
        UpdateExpression="SET v = :v",
        ConditionExpression="attribute_not_exists(v) OR v < :v",
        ExpressionAttributeValues={":v": {"N": str(value)}},
    )


def run(endpoint: str) -> None:
    db = {
        region: boto3.client(
            "dynamodb", region_name=region, endpoint_url=endpoint,
            aws_access_key_id="testing", aws_secret_access_key="testing",
        )
        for region in (A, B)
    }  # fmt: skip
    for client in db.values():
        client.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    print("start", _stats(endpoint))

    # (1) An update in A reaches B after the delay, not before.
    _raise_to(db[A], "one", 1)
    assert _v(db[B], "one") is None, "delivered without delay"
    print("(1) converged", _converge(endpoint), "B holds", _v(db[B], "one"))
    assert _v(db[B], "one") == "1"

    # (2) Concurrent conditional updates: each condition sees its own Region
    # only, so both succeed; B's is later and wins everywhere, A's 10 is lost.
    _raise_to(db[A], "two", 10)
    _raise_to(db[B], "two", 5)
    print("(2) before delivery: A", _v(db[A], "two"), "B", _v(db[B], "two"))
    stats = _converge(endpoint)
    print("(2) converged", stats, "A", _v(db[A], "two"), "B", _v(db[B], "two"))
    assert (_v(db[A], "two"), _v(db[B], "two")) == ("5", "5")

    # (3) A delete in B removes the item in A.
    db[B].delete_item(TableName=TABLE, Key={"pk": {"S": "one"}})
    print("(3) converged", _converge(endpoint), "A holds", _v(db[A], "one"))
    assert _v(db[A], "one") is None

    # A failed conditional write and a no-op delete capture nothing.
    before = _stats(endpoint)["captured"]
    try:
        _raise_to(db[A], "two", 3)
        raise AssertionError("condition should have failed")
    except db[A].exceptions.ConditionalCheckFailedException:
        pass
    db[A].delete_item(TableName=TABLE, Key={"pk": {"S": "absent"}})
    assert _stats(endpoint)["captured"] == before

    # A transaction and a batch replicate too.
    db[A].transact_write_items(TransactItems=[
        {"Put": {"TableName": TABLE, "Item": {"pk": {"S": "t"}, "v": {"N": "7"}}}},
        {"Delete": {"TableName": TABLE, "Key": {"pk": {"S": "two"}}}},
    ])  # fmt: skip
    db[B].batch_write_item(RequestItems={TABLE: [
        {"PutRequest": {"Item": {"pk": {"S": "b"}, "v": {"N": "8"}}}},
    ]})  # fmt: skip
    stats = _converge(endpoint)
    print("(4) final", stats)
    assert (_v(db[B], "t"), _v(db[B], "two"), _v(db[A], "b")) == ("7", None, "8")
    assert stats == {"captured": 7, "applied": 6, "dropped_lww": 1, "pending": 0}
    print("OK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=5123)
    port = parser.parse_args().port
    env = dict(
        os.environ,
        MOTO_ALLOW_NONEXISTENT_REGION="true",
        EMULATOR_REPLICATE_REGIONS=f"{A},{B}",
        EMULATOR_REPLICATION_DELAY_MS="200-400",
        EMULATOR_REPLICATION_SEED="1",
    )
    emulator = os.path.join(os.path.dirname(os.path.abspath(__file__)), "emulator.py")
    process = subprocess.Popen(
        [sys.executable, emulator, "--port", str(port), "--exit-on-stdin-eof"],
        env=env, stdin=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait_for_port(port, process)
        run(f"http://127.0.0.1:{port}")
    finally:
        process.stdin.close()  # --exit-on-stdin-eof: the emulator exits
        process.wait(timeout=10)


if __name__ == "__main__":
    main()
