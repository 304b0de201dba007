"""An independent Kafka client for the integration tests (confluent-kafka, not taskstream's code).

  consume  --brokers B --topics T1,T2 [--schemas DIR]
      Reads every record of the topics from the beginning and prints one JSON line per record
      (topic, partition, offset, key, headers, value). With --schemas, every value is checked
      against schemas/<ce_type>.schema.json and the CloudEvents headers against the value;
      any violation exits non-zero with the reason.
  produce  --brokers B
      Reads JSON lines {"topic", "key", "value" (text), "headers": {..}} from stdin and
      produces each (acks=all), in order.
"""
import argparse
import json
import sys
import time

import jsonschema
from confluent_kafka import Consumer, Producer, TopicPartition

CE_HEADERS = ["ce_id", "ce_source", "ce_type", "ce_specversion", "ce_time", "ce_subject", "content-type", "traceparent"]


def consume(args):
    consumer = Consumer({
        "bootstrap.servers": args.brokers,
        "group.id": f"independent-reader-{time.time_ns()}",
        "enable.auto.commit": False,
        "fetch.wait.max.ms": 10,
    })
    schemas = {}
    records = []
    for topic in args.topics.split(","):
        metadata = consumer.list_topics(topic, timeout=10)
        partitions = metadata.topics[topic].partitions
        for partition in sorted(partitions):
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
            if high <= low:
                continue
            consumer.assign([TopicPartition(topic, partition, low)])
            deadline = time.time() + 30
            next_offset = low
            while next_offset < high and time.time() < deadline:
                message = consumer.poll(0.5)
                if message is None:
                    continue
                if message.error():
                    sys.exit(f"consume error: {message.error()}")
                next_offset = message.offset() + 1
                headers = {k: (v.decode() if v is not None else None) for k, v in (message.headers() or [])}
                value = message.value().decode("utf-8", "replace") if message.value() is not None else None
                record = {
                    "topic": topic, "partition": partition, "offset": message.offset(),
                    "key": message.key().decode() if message.key() else None,
                    "headers": headers, "value": value,
                }
                if args.schemas:
                    check(record, args.schemas, schemas)
                records.append(record)
            if next_offset < high:
                sys.exit(f"{topic}[{partition}]: read up to {next_offset}, expected {high}")
    consumer.close()
    for record in records:
        print(json.dumps(record))


def check(record, directory, cache):
    where = f"{record['topic']}@{record['offset']}"
    headers = record["headers"]
    missing = [h for h in CE_HEADERS if h not in headers]
    if missing:
        sys.exit(f"{where}: missing headers {missing}")
    if headers["ce_specversion"] != "1.0" or headers["content-type"] != "application/json":
        sys.exit(f"{where}: bad CloudEvents headers {headers}")
    parts = headers["traceparent"].split("-")
    if len(parts) != 4 or parts[0] != "00" or len(parts[1]) != 32 or len(parts[2]) != 16:
        sys.exit(f"{where}: bad traceparent {headers['traceparent']}")
    value = json.loads(record["value"])
    event_type = headers["ce_type"]
    if event_type not in cache:
        with open(f"{directory}/{event_type}.schema.json") as f:
            cache[event_type] = json.load(f)
    try:
        jsonschema.validate(value, cache[event_type])
    except jsonschema.ValidationError as error:
        sys.exit(f"{where}: {event_type} does not match its schema: {error.message}")
    if value["event_id"] != headers["ce_id"] or value["event_type"] != event_type:
        sys.exit(f"{where}: headers and value disagree")


def produce(args):
    producer = Producer({"bootstrap.servers": args.brokers, "acks": "all"})
    failures = []
    count = 0
    for line in sys.stdin:
        if not line.strip():
            continue
        item = json.loads(line)
        producer.produce(
            item["topic"], key=item.get("key"), value=item["value"].encode(),
            headers=[(k, v.encode()) for k, v in item.get("headers", {}).items()],
            on_delivery=lambda err, msg: err and failures.append(str(err)),
        )
        producer.flush(10)
        count += 1
    if failures:
        sys.exit(f"produce failed: {failures}")
    print(json.dumps({"produced": count}))


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("consume")
    c.add_argument("--brokers", required=True)
    c.add_argument("--topics", required=True)
    c.add_argument("--schemas")
    p = sub.add_parser("produce")
    p.add_argument("--brokers", required=True)
    args = parser.parse_args()
    {"consume": consume, "produce": produce}[args.command](args)


if __name__ == "__main__":
    main()
