#!/usr/bin/env python3
"""Checks CloudWatch Embedded Metric Format documents against the specification.

Reads a function's stdout on stdin; every line that is a JSON object with an
`_aws` member is an EMF document and is checked:

* its structure, with `jsonschema`, against the document structure of the
  specification (docs.aws.amazon.com, "Specification: Embedded metric format"):
  `_aws.Timestamp` (ms since the epoch), `_aws.CloudWatchMetrics` (metric
  directives: `Namespace`, `Dimensions` as arrays of at most 30 names,
  `Metrics` (at most 100) with `Name`, optional `Unit` and `StorageResolution`);
* every dimension a directive names is a string member of the root, and every
  metric a number or an array of at most 100 numbers there (target members);
* namespace, dimension sets, metrics (name, finite value, unit) and timestamp
  with the validators of `aws-embedded-metrics`, AWS's own EMF library.

Prints one JSON document, {"documents": n, "errors": [...]}, and exits 1 when
any document fails (or none was found).
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone

import jsonschema
from aws_embedded_metrics import validator
from aws_embedded_metrics.storage_resolution import StorageResolution

UNITS = [
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes",
    "Gigabytes", "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits",
    "Percent", "Count", "Bytes/Second", "Kilobytes/Second", "Megabytes/Second",
    "Gigabytes/Second", "Terabytes/Second", "Bits/Second", "Kilobits/Second",
    "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None",
]

SCHEMA = {
    "type": "object",
    "required": ["_aws"],
    "properties": {
        "_aws": {
            "type": "object",
            "required": ["Timestamp", "CloudWatchMetrics"],
            "properties": {
                "Timestamp": {"type": "integer", "minimum": 0},
                "CloudWatchMetrics": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["Namespace", "Dimensions", "Metrics"],
                        "properties": {
                            "Namespace": {"type": "string", "minLength": 1, "maxLength": 1024},
                            "Dimensions": {
                                "type": "array",
                                "items": {
                                    "type": "array",
                                    "maxItems": 30,
                                    "items": {"type": "string", "minLength": 1, "maxLength": 250},
                                },
                            },
                            "Metrics": {
                                "type": "array",
                                "maxItems": 100,
                                "items": {
                                    "type": "object",
                                    "required": ["Name"],
                                    "properties": {
                                        "Name": {"type": "string", "minLength": 1, "maxLength": 1024},
                                        "Unit": {"enum": UNITS},
                                        "StorageResolution": {"enum": [1, 60]},
                                    },
                                },
                            },
                        },
                    },
                },
            },
        }
    },
}


def problems(doc: dict) -> list[str]:
    found = [e.message for e in jsonschema.Draft202012Validator(SCHEMA).iter_errors(doc)]
    if found:
        return found
    aws = doc["_aws"]
    try:
        validator.validate_timestamp(
            datetime.fromtimestamp(aws["Timestamp"] / 1000, tz=timezone.utc)
        )
    except Exception as e:  # the library's own error types
        found.append(f"timestamp: {e}")
    for directive in aws["CloudWatchMetrics"]:
        try:
            validator.validate_namespace(directive["Namespace"])
        except Exception as e:
            found.append(f"namespace: {e}")
        for names in directive["Dimensions"]:
            values = {name: doc.get(name) for name in names}
            missing = [n for n, v in values.items() if not isinstance(v, str)]
            if missing:
                found.append(f"dimensions without a string member: {missing}")
                continue
            try:
                validator.validate_dimension_set(values)
            except Exception as e:
                found.append(f"dimension set {names}: {e}")
        seen: dict = {}
        for metric in directive["Metrics"]:
            name = metric["Name"]
            value = doc.get(name)
            values = value if isinstance(value, list) else [value]
            if not values or len(values) > 100 or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in values
            ):
                found.append(f"metric {name}: no number (or > 100) at the root: {value!r}")
                continue
            resolution = StorageResolution(metric.get("StorageResolution", 60))
            for v in values:
                try:
                    validator.validate_metric(name, v, metric.get("Unit"), resolution, seen)
                except Exception as e:
                    found.append(f"metric {name}: {e}")
            seen[name] = resolution
    return found


def main() -> int:
    documents, errors = 0, []
    for number, line in enumerate(sys.stdin, 1):
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if not isinstance(doc, dict) or "_aws" not in doc:
            continue
        documents += 1
        errors += [f"line {number}: {p}" for p in problems(doc)]
    if documents == 0:
        errors.append("no EMF document found")
    print(json.dumps({"documents": documents, "errors": errors}))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
