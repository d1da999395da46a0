"""A DynamoDB Streams event source mapping, run inside the emulator.

moto serves DynamoDB Streams but runs no event source mapping. This module
does what Lambda's mapping for a DynamoDB stream does, as AWS documents it,
for the settings the template gives the events function
(FunctionResponseTypes ReportBatchItemFailures, BisectBatchOnFunctionError,
MaximumRetryAttempts, DestinationConfig OnFailure SQS):

* every table with a stream (in us-east-1, the tests' Region) is read from TRIM_HORIZON, shard by shard, in
  order; batches of up to EMULATOR_STREAM_BATCH_SIZE records (default 10)
  are sent to the function as the real DynamoDB Streams event
  (`{"Records": [...]}`, each record as Lambda delivers it: eventID,
  eventName, eventVersion, eventSource, awsRegion, dynamodb with
  ApproximateCreationDateTime in epoch seconds, Keys, NewImage, OldImage,
  SequenceNumber, SizeBytes, StreamViewType; eventSourceARN);
* the function's answer is a partial batch response: an empty
  `batchItemFailures` means done; `[{"itemIdentifier": seq}]` means every
  record before `seq` is done and the batch is retried from `seq`; an
  identifier not in the batch, an answer that is no such object, or a
  function error means the whole batch failed, and the retry sends its first
  half (bisect on function error);
* a batch retried EMULATOR_STREAM_MAX_RETRIES times (default 2) goes to the
  on-failure SQS queue EMULATOR_STREAM_DLQ (default `signout-events-dlq`,
  created when missing) as AWS writes it: a message naming the shard and the
  first and last sequence numbers (`DDBStreamBatchInfo`), not the records,
  which stay readable in the stream for its retention (tools/redrive.py);
  then the mapping moves past it.

On when EMULATOR_STREAM_FUNCTION (the function's name under `cargo lambda
watch`) and EMULATOR_LAMBDA_ENDPOINT are both set. GET /_streams on the
emulator answers {"invocations", "delivered", "retried", "to_dlq",
"behind"}: "behind" is how many records are read but not yet done; wait for
it to be 0 (and no write pending) before asserting on what receivers got.
"""

import json
import os
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

FUNCTION_ENV = "EMULATOR_STREAM_FUNCTION"
LAMBDA_ENV = "EMULATOR_LAMBDA_ENDPOINT"
DLQ_ENV = "EMULATOR_STREAM_DLQ"
RETRIES_ENV = "EMULATOR_STREAM_MAX_RETRIES"
BATCH_ENV = "EMULATOR_STREAM_BATCH_SIZE"
REGION = "us-east-1"
STATS_PATH = "/_streams"
INVOKE_TIMEOUT_SECONDS = 60

_stats = {"invocations": 0, "delivered": 0, "retried": 0, "to_dlq": 0, "behind": 0}
_stats_lock = threading.Lock()


def stats() -> dict:
    with _stats_lock:
        return dict(_stats)


def _count(name: str, n: int = 1) -> None:
    with _stats_lock:
        _stats[name] += n


def lambda_record(raw: dict, region: str, stream_arn: str) -> dict:
    """A stream record (GetRecords, botocore-parsed) as Lambda delivers it."""
    change = dict(raw["dynamodb"])
    created = change.get("ApproximateCreationDateTime")
    if hasattr(created, "timestamp"):
        change["ApproximateCreationDateTime"] = int(created.timestamp())
    record = {
        "eventID": raw["eventID"],
        "eventName": raw["eventName"],
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": change,
        "eventSourceARN": stream_arn,
    }
    if raw.get("userIdentity"):
        record["userIdentity"] = raw["userIdentity"]
    return record


def invoke(endpoint: str, function: str, event: dict):
    """The function's answer, or None when the invocation failed."""
    name = urllib.parse.quote(function, safe="")
    request = urllib.request.Request(
        f"{endpoint.rstrip('/')}/2015-03-31/functions/{name}/invocations",
        data=json.dumps(event).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=INVOKE_TIMEOUT_SECONDS) as r:
            if r.headers.get("X-Amz-Function-Error"):
                return None
            answer = json.loads(r.read())
    except (OSError, ValueError):  # HTTPError, refused, timeout, not JSON
        return None
    if not isinstance(answer, dict) or "errorMessage" in answer:
        return None
    return answer


def done_until(batch: list, answer) -> int | None:
    """How many leading records of `batch` the answer reports done; None: a
    failed invocation (the whole batch failed)."""
    if answer is None:
        return None
    failures = answer.get("batchItemFailures")
    if failures is None or failures == []:
        return len(batch)
    if not isinstance(failures, list):
        return 0
    sequence = [r["dynamodb"]["SequenceNumber"] for r in batch]
    ids = [f.get("itemIdentifier") if isinstance(f, dict) else None for f in failures]
    positions = [sequence.index(i) for i in ids if i in sequence]
    if len(positions) != len(ids):
        return 0  # an identifier not in the batch fails it whole, as AWS does
    return min(positions)


class Shard:
    """One shard's position and the records read but not yet done."""

    def __init__(self, stream_arn: str, shard_id: str):
        self.stream_arn = stream_arn
        self.shard_id = shard_id
        self.iterator = None
        self.pending: list = []
        self.attempts = 0
        self.size = None  # the bisected batch size, None: the configured one


class Poller:
    def __init__(self, endpoint: str, lambda_endpoint: str, function: str):
        import boto3  # moto's own dependency

        kwargs = dict(
            endpoint_url=endpoint,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        self.ddb = boto3.client("dynamodb", **kwargs)
        self.streams = boto3.client("dynamodbstreams", **kwargs)
        self.sqs = boto3.client("sqs", **kwargs)
        self.lambda_endpoint = lambda_endpoint
        self.function = function
        self.max_retries = int(os.environ.get(RETRIES_ENV, "2"))
        self.batch_size = int(os.environ.get(BATCH_ENV, "10"))
        self.dlq_name = os.environ.get(DLQ_ENV, "signout-events-dlq")
        self.dlq_url = None
        self.shards: dict = {}

    def discover(self) -> None:
        for table in self.ddb.list_tables().get("TableNames", []):
            arn = self.ddb.describe_table(TableName=table)["Table"].get("LatestStreamArn")
            if not arn:
                continue
            for s in self.streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
                key = (arn, s["ShardId"])
                if key not in self.shards:
                    shard = Shard(arn, s["ShardId"])
                    shard.iterator = self.streams.get_shard_iterator(
                        StreamArn=arn, ShardId=s["ShardId"], ShardIteratorType="TRIM_HORIZON"
                    )["ShardIterator"]
                    self.shards[key] = shard

    def read(self, shard: Shard) -> None:
        out = self.streams.get_records(ShardIterator=shard.iterator, Limit=100)
        shard.iterator = out.get("NextShardIterator") or shard.iterator
        records = [lambda_record(r, REGION, shard.stream_arn) for r in out.get("Records", [])]
        shard.pending.extend(records)
        _count("behind", len(records))

    def to_dlq(self, shard: Shard, batch: list) -> None:
        if self.dlq_url is None:
            self.dlq_url = self.sqs.create_queue(QueueName=self.dlq_name)["QueueUrl"]
        first, last = batch[0]["dynamodb"], batch[-1]["dynamodb"]
        message = {
            "requestContext": {
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": shard.attempts,
                "functionArn": f"arn:aws:lambda:{REGION}:123456789012:function:{self.function}",
            },
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST"},
            "version": "1.0",
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            "DDBStreamBatchInfo": {
                "shardId": shard.shard_id,
                "startSequenceNumber": first["SequenceNumber"],
                "endSequenceNumber": last["SequenceNumber"],
                "approximateArrivalOfFirstRecord": first.get("ApproximateCreationDateTime"),
                "approximateArrivalOfLastRecord": last.get("ApproximateCreationDateTime"),
                "batchSize": len(batch),
                "streamArn": shard.stream_arn,
            },
        }
        self.sqs.send_message(QueueUrl=self.dlq_url, MessageBody=json.dumps(message))
        _count("to_dlq", len(batch))

    def advance(self, shard: Shard, n: int) -> None:
        del shard.pending[:n]
        _count("behind", -n)
        shard.attempts = 0
        shard.size = None

    def step(self, shard: Shard) -> bool:
        """Sends one batch of `shard`; True when there was one."""
        if not shard.pending:
            self.read(shard)
        if not shard.pending:
            return False
        batch = shard.pending[: shard.size or self.batch_size]
        _count("invocations")
        shard.attempts += 1
        answer = invoke(self.lambda_endpoint, self.function, {"Records": batch})
        done = done_until(batch, answer)
        if done is not None and done > 0:
            _count("delivered", done)
            self.advance(shard, done)
            return True
        if shard.attempts > self.max_retries:
            self.to_dlq(shard, batch)
            self.advance(shard, len(batch))
            return True
        _count("retried")
        if len(batch) > 1:
            # Bisect: a function error, or a failure at the batch's first record.
            shard.size = (len(batch) + 1) // 2
        time.sleep(0.05 * shard.attempts)
        return True

    def run(self) -> None:
        while True:
            busy = False
            try:
                self.discover()
                for shard in list(self.shards.values()):
                    busy = self.step(shard) or busy
            except Exception as error:  # noqa: BLE001 - keep polling; the emulator may be starting
                print(f"stream poller: {error!r}", flush=True)
            if not busy:
                time.sleep(0.05)


_update = threading.local()


def one_record_per_update() -> None:
    """An UpdateItem that creates its item writes one INSERT stream record with
    the whole new image, as DynamoDB does. moto writes two: an INSERT of the bare
    key (it creates the item first), then another INSERT with the attributes."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import StreamShard

    update_item = DynamoDBBackend.update_item
    add = StreamShard.add

    def updating(self, *args, **kwargs):
        _update.creating = True
        try:
            return update_item(self, *args, **kwargs)
        finally:
            _update.creating = False

    def adding(self, old, new):
        if getattr(_update, "creating", False) and old is None:
            _update.creating = False  # the bare key's INSERT; the next add is the real one
            return None
        return add(self, old, new)

    DynamoDBBackend.update_item = updating
    StreamShard.add = adding


def activate(port: int) -> None:
    """Starts the poller thread when configured, polling the emulator on `port`,
    and installs the /_streams route in moto.server."""
    function = os.environ.get(FUNCTION_ENV)
    lambda_endpoint = os.environ.get(LAMBDA_ENV)
    one_record_per_update()
    if not function or not lambda_endpoint:
        return
    import moto.server  # moto.server.main builds this class's app

    moto.server.DomainDispatcherApplication = with_stats_route(
        moto.server.DomainDispatcherApplication
    )
    poller = Poller(f"http://127.0.0.1:{port}", lambda_endpoint, function)
    threading.Thread(target=poller.run, name="stream-poller", daemon=True).start()


def with_stats_route(app_class):
    """moto's WSGI dispatcher, answering GET /_streams with the counters."""

    class StreamStatsApp(app_class):
        def __call__(self, environ, start_response):
            if environ.get("PATH_INFO") == STATS_PATH and environ.get("REQUEST_METHOD") == "GET":
                body = json.dumps(stats()).encode()
                start_response(
                    "200 OK",
                    [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
                )
                return [body]
            return super().__call__(environ, start_response)

    return StreamStatsApp
