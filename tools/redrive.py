#!/usr/bin/env python3
"""Redrives the events function's on-failure queue: `make redrive`.

For a DynamoDB stream, Lambda's on-failure destination receives a message
naming the failed batch (`DDBStreamBatchInfo`: stream, shard, first and last
sequence numbers), not the records. This command reads each message, reads
those records back from the stream (they stay there for its retention, 24
hours), invokes the function with them as Lambda would, and deletes the
message only when the function reports every record done (an empty
`batchItemFailures`). A message whose records cannot be read or still fail is
left in the queue, and the command exits 1.

    python tools/redrive.py --queue-url URL [--function events]
        [--lambda-endpoint http://127.0.0.1:9000]

AWS credentials, Region and endpoints come from boto3's usual chain
(AWS_ENDPOINT_URL_SQS, AWS_ENDPOINT_URL_DYNAMODB_STREAMS for the emulator).
--lambda-endpoint: invoke through that Lambda invoke API (e.g. `cargo lambda
watch`) instead of Lambda's own.
"""

import argparse
import json
import sys

import boto3

import stream_poller  # tools/stream_poller.py: the record shape and the answer's reading


def records_of(streams, info: dict) -> list:
    iterator = streams.get_shard_iterator(
        StreamArn=info["streamArn"],
        ShardId=info["shardId"],
        ShardIteratorType="AT_SEQUENCE_NUMBER",
        SequenceNumber=info["startSequenceNumber"],
    )["ShardIterator"]
    region = info["streamArn"].split(":")[3]
    out: list = []
    end = int(info["endSequenceNumber"])
    while iterator and len(out) < int(info["batchSize"]):
        page = streams.get_records(ShardIterator=iterator, Limit=100)
        batch = page.get("Records", [])
        for raw in batch:
            if int(raw["dynamodb"]["SequenceNumber"]) > end:
                return out
            out.append(stream_poller.lambda_record(raw, region, info["streamArn"]))
        if not batch:
            break
        iterator = page.get("NextShardIterator")
    return out


def invoke(args, event: dict):
    if args.lambda_endpoint:
        return stream_poller.invoke(args.lambda_endpoint, args.function, event)
    answer = boto3.client("lambda").invoke(FunctionName=args.function, Payload=json.dumps(event))
    if answer.get("FunctionError"):
        return None
    return json.loads(answer["Payload"].read())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queue-url", required=True)
    parser.add_argument("--function", default="events")
    parser.add_argument("--lambda-endpoint")
    args = parser.parse_args()
    sqs = boto3.client("sqs")
    streams = boto3.client("dynamodbstreams")
    redriven = failed = 0
    while True:
        got = sqs.receive_message(QueueUrl=args.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        messages = got.get("Messages", [])
        if not messages:
            break
        for m in messages:
            info = json.loads(m["Body"]).get("DDBStreamBatchInfo")
            records = records_of(streams, info) if info else []
            answer = invoke(args, {"Records": records}) if records else None
            done = stream_poller.done_until(records, answer) if records else None
            if records and done == len(records):
                sqs.delete_message(QueueUrl=args.queue_url, ReceiptHandle=m["ReceiptHandle"])
                redriven += len(records)
            else:
                # Back in the queue at once: this run does not see it again.
                failed += 1
        if failed:
            break
    print(f"redrive: {redriven} record(s) delivered, {failed} message(s) left in the queue")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
