"""An independent Kafka client (confluent-kafka, not taskstream's code) for scripts/bench-backlog:
the broker's own share of a backlog, with records of the relay's shape.

  produce --brokers B --topic T --records N [--headers H] [--size S] [--partitions P]
      Creates T with P partitions and produces N records of S bytes, each with H headers
      named like the relay's CloudEvents headers (idempotent, acks=all); prints one line
      "produced N records in X s = R records/s".
  consume --brokers B --topic T --records N [--deadline SECONDS] [--headers H]
      Reads T from the beginning with a fresh group until N records arrived or the deadline
      passed, checking every record carries H headers; prints the rate of every tenth of N ("10% ... records/s") so a rate that falls
      as the backlog is read shows, then "consumed N records in X s = R records/s"
      (or "consumed K of N records in X s (deadline)", exit status 2).
"""
import argparse
import os
import sys
import time

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

HEADER_NAMES = ["ce_id", "ce_source", "ce_type", "ce_specversion", "ce_time", "ce_subject",
                "content-type", "traceparent", "h8", "h9", "h10", "h11"]


def produce(args):
    admin = AdminClient({"bootstrap.servers": args.brokers})
    for future in admin.create_topics([NewTopic(args.topic, args.partitions, 1)]).values():
        future.result(30)
    producer = Producer({
        "bootstrap.servers": args.brokers, "acks": "all", "enable.idempotence": True,
        "linger.ms": 5, "batch.num.messages": 1000,
    })
    failures = []
    value = os.urandom(args.size // 2).hex().encode()
    started = time.monotonic()
    for i in range(args.records):
        headers = [(name, f"{name}-{i:012d}".encode()) for name in HEADER_NAMES[:args.headers]]
        while True:
            try:
                producer.produce(args.topic, key=f"key-{i % 1000}".encode(), value=value, headers=headers,
                                 on_delivery=lambda err, _msg: err and failures.append(str(err)))
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    if producer.flush(120) != 0 or failures:
        sys.exit(f"produce failed: {failures[:3]} ({len(producer)} records unsent)")
    seconds = time.monotonic() - started
    print(f"produced {args.records} records in {seconds:.2f} s = {args.records / seconds:.0f} records/s", flush=True)


def consume(args):
    consumer = Consumer({
        "bootstrap.servers": args.brokers, "group.id": f"backlog-reader-{time.time_ns()}",
        "enable.auto.commit": False, "auto.offset.reset": "earliest", "fetch.wait.max.ms": 10,
    })
    consumer.subscribe([args.topic])
    started = time.monotonic()
    deadline = started + args.deadline
    count, step, last_mark, last_count = 0, max(args.records // 10, 1), started, 0
    while count < args.records and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is None:
            continue
        if message.error():
            sys.exit(f"consume error: {message.error()}")
        if len(message.headers() or []) != args.headers:
            sys.exit(f"offset {message.offset()}: {len(message.headers() or [])} headers, expected {args.headers}")
        count += 1
        if count % step == 0:
            now = time.monotonic()
            print(f"  {100 * count // args.records:3d}%  {count:>8} records  {(count - last_count) / (now - last_mark):>8.0f} records/s", flush=True)
            last_mark, last_count = now, count
    seconds = time.monotonic() - started
    consumer.close()
    if count < args.records:
        print(f"consumed {count} of {args.records} records in {seconds:.2f} s (deadline) = {count / seconds:.0f} records/s", flush=True)
        sys.exit(2)
    print(f"consumed {count} records in {seconds:.2f} s = {count / seconds:.0f} records/s", flush=True)


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("produce")
    p.add_argument("--brokers", required=True)
    p.add_argument("--topic", required=True)
    p.add_argument("--records", type=int, required=True)
    p.add_argument("--headers", type=int, default=8)
    p.add_argument("--size", type=int, default=300)
    p.add_argument("--partitions", type=int, default=3)
    c = sub.add_parser("consume")
    c.add_argument("--brokers", required=True)
    c.add_argument("--topic", required=True)
    c.add_argument("--records", type=int, required=True)
    c.add_argument("--deadline", type=float, default=600)
    c.add_argument("--headers", type=int, default=8, help="headers every record must carry")
    args = parser.parse_args()
    {"produce": produce, "consume": consume}[args.command](args)


if __name__ == "__main__":
    main()
