#!/usr/bin/env python3
"""Writes the OpenAPI 3.0 rendition of docs/openapi.yaml that API Gateway imports.

docs/openapi.yaml is OpenAPI 3.1 (JSON Schema 2020-12); API Gateway's import reads
OpenAPI 2.0 and 3.0. This rewrites the few 3.1-only constructs the document uses
(`type: [X, "null"]`, `const`, `examples` in schemas, `info.summary`,
`license.identifier`, `jsonSchemaDialect`) into their 3.0 equivalents, and keeps only
what API Gateway enforces itself: IAM (SigV4) authorization. Bearer and Basic
credentials are checked by the function, so their schemes are dropped from the
import (the Lambda authorizer of `GET /session` comes from template.yaml).

    .venv/bin/python tools/openapi_apigateway.py docs/openapi.yaml \
        [--function-arn arn:aws:lambda:REGION:ACCOUNT:function:NAME] > api.json
    aws apigatewayv2 import-api --body file://api.json

With --function-arn every route gets a Lambda proxy integration (payload 2.0); grant
API Gateway `lambda:InvokeFunction` on it. `make test` validates the output.
"""

import argparse
import copy
import json
import sys

import yaml

ENFORCED_BY_API_GATEWAY = {"sigv4"}
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def schema_30(node):
    """A JSON Schema 2020-12 subschema rewritten as an OpenAPI 3.0 schema object."""
    if isinstance(node, list):
        return [schema_30(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "type" and isinstance(value, list):
            kinds = [k for k in value if k != "null"]
            if len(kinds) != 1:
                raise SystemExit(f"cannot express type {value} in OpenAPI 3.0")
            out["type"] = kinds[0]
            if "null" in value:
                out["nullable"] = True
        elif key == "type" and value == "null":
            out["nullable"] = True
            out["enum"] = [None]
        elif key == "const":
            out["enum"] = [value]
        elif key == "examples" and isinstance(value, list):
            if value:
                out["example"] = value[0]
        elif key in ("properties", "patternProperties", "$defs"):
            out[key] = {k: schema_30(v) for k, v in value.items()}
        else:
            out[key] = schema_30(value)
    return out


def walk_schemas(node):
    """Rewrites every `schema` object found anywhere in the document, in place."""
    if isinstance(node, dict):
        for key, value in list(node.items()):
            if key == "schema":
                node[key] = schema_30(value)
            else:
                walk_schemas(value)
    elif isinstance(node, list):
        for item in node:
            walk_schemas(item)


def convert(doc, function_arn=None):
    doc = copy.deepcopy(doc)
    doc["openapi"] = "3.0.3"
    doc.pop("jsonSchemaDialect", None)
    doc["info"].pop("summary", None)
    doc["info"].get("license", {}).pop("identifier", None)
    components = doc.setdefault("components", {})
    components["schemas"] = {k: schema_30(v) for k, v in components.get("schemas", {}).items()}
    walk_schemas({k: v for k, v in components.items() if k != "schemas"})
    walk_schemas(doc["paths"])
    schemes = components.get("securitySchemes", {})
    for name in list(schemes):
        if name not in ENFORCED_BY_API_GATEWAY:
            del schemes[name]
    for item in doc["paths"].values():
        for method, op in item.items():
            if method not in METHODS:
                continue
            # Where IAM is one way in, API Gateway requires it, as template.yaml does
            # (POST /introspect: the function also takes Basic, the API does not).
            kept = [r for r in op.get("security", []) if r and set(r) <= ENFORCED_BY_API_GATEWAY]
            if kept:
                op["security"] = kept
            else:
                op.pop("security", None)
            if function_arn:
                op["x-amazon-apigateway-integration"] = {
                    "type": "aws_proxy",
                    "httpMethod": "POST",
                    "uri": function_arn,
                    "payloadFormatVersion": "2.0",
                }
    return doc


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("document", help="docs/openapi.yaml")
    parser.add_argument("--function-arn", help="the signout-api function to integrate every route with")
    args = parser.parse_args()
    with open(args.document, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    json.dump(convert(doc, args.function_arn), sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
