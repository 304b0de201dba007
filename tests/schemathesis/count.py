"""Reads a schemathesis NDJSON report: prints the requests it sent and their statuses.

Usage: count.py REPORT.ndjson  ->  "<requests> <status>:<n> <status>:<n> ..."
"""

import collections
import json
import sys


def main(path):
    statuses = collections.Counter()
    with open(path, encoding="utf-8") as report:
        for line in report:
            event = json.loads(line)
            finished = event.get("ScenarioFinished")
            if not finished:
                continue
            for interaction in finished["recorder"].get("interactions", {}).values():
                response = interaction.get("response")
                statuses[response["status_code"] if response else "none"] += 1
    breakdown = " ".join(f"{status}:{n}" for status, n in sorted(statuses.items(), key=lambda kv: str(kv[0])))
    print(sum(statuses.values()), breakdown)


if __name__ == "__main__":
    main(sys.argv[1])
