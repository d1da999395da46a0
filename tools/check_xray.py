#!/usr/bin/env python3
"""Checks what a function sent to the X-Ray daemon against AWS's specification.

Reads a JSON array of UDP datagrams (strings) on stdin. Each must be the
daemon protocol's header line, `{"format": "json", "version": 1}`, a newline,
and one segment document, checked with `jsonschema` against AWS's published
segment document schema (tools/schemas/xray-segmentdocument-schema-v1.0.0.json,
"AWS X-Ray segment documents", docs.aws.amazon.com/xray, as also shipped in
the xray-lite crate), plus what the developer guide says of independent
subsegments: `type` "subsegment" with `trace_id` and `parent_id`, and an
in-progress document without `end_time` or a complete one with
`end_time >= start_time`. X-Ray ignores members it does not know, so a
misspelt flag would be lost silently: members the schema does not define are
errors here.

Prints {"documents": n, "errors": [...]} and exits 1 on any error (or none found).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import jsonschema

SCHEMA = json.loads(
    (Path(__file__).parent / "schemas" / "xray-segmentdocument-schema-v1.0.0.json").read_text()
)
SUBSEGMENT = dict(SCHEMA["definitions"]["subsegment"], definitions=SCHEMA["definitions"])
KNOWN = set(SCHEMA["properties"]) | set(SCHEMA["definitions"]["subsegment"]["properties"])
HTTP_KNOWN = {
    "request": set(SCHEMA["properties"]["http"]["properties"]["request"]["properties"]) | {"traced"},
    "response": set(SCHEMA["properties"]["http"]["properties"]["response"]["properties"]),
}


def check(doc: dict) -> list[str]:
    errors = [e.message for e in jsonschema.Draft4Validator(SCHEMA).iter_errors(doc)]
    if doc.get("type") == "subsegment":
        errors += [e.message for e in jsonschema.Draft4Validator(SUBSEGMENT).iter_errors(doc)]
        errors += [f"independent subsegment without {k}" for k in ("trace_id", "parent_id") if k not in doc]
    errors += [f"member not in the schema: {k}" for k in doc if k not in KNOWN]
    for part, known in HTTP_KNOWN.items():
        extra = set(doc.get("http", {}).get(part, {})) - known
        errors += [f"http.{part} member not in the schema: {k}" for k in sorted(extra)]
    if doc.get("in_progress"):
        if "end_time" in doc:
            errors.append("in_progress with end_time")
    elif "end_time" not in doc:
        errors.append("neither in_progress nor end_time")
    elif doc["end_time"] < doc["start_time"]:
        errors.append("end_time before start_time")
    return errors


def main() -> int:
    datagrams = json.load(sys.stdin)
    errors = []
    for i, datagram in enumerate(datagrams):
        header, sep, body = datagram.partition("\n")
        if not sep or json.loads(header) != {"format": "json", "version": 1}:
            errors.append(f"datagram {i}: bad header {header!r}")
            continue
        try:
            doc = json.loads(body)
        except json.JSONDecodeError as e:
            errors.append(f"datagram {i}: not JSON: {e}")
            continue
        errors += [f"datagram {i} ({doc.get('name')}): {e}" for e in check(doc)]
    if not datagrams:
        errors.append("no datagram")
    print(json.dumps({"documents": len(datagrams), "errors": errors}, indent=1))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
