#!/usr/bin/env python3
"""The offline SAM transform of template.yaml (aws-sam-translator, no AWS call).

    .venv-deploy/bin/python tools/sam_transform.py template.yaml OUT.json [Name=value ...]

Writes the CloudFormation template that CloudFormation would run after the
`AWS::Serverless-2016-10-31` transform, as JSON, for cfn-lint, cfn-lint-serverless
and checkov (`make test-template`). Parameters not given take their defaults;
conditions stay conditions (CloudFormation evaluates them), so one transformed
template covers every branch. tests/template/ imports `load` and `transform`.
"""

import copy
import json
import logging
import os
import sys

import yaml


class CfnLoader(yaml.SafeLoader):
    """SafeLoader that turns every CloudFormation short-form tag into its long form."""


def _construct_tag(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "Condition":
        return {"Condition": value}
    if suffix == "GetAtt" and isinstance(value, str):
        resource, _, attribute = value.partition(".")
        return {"Fn::GetAtt": [resource, attribute]}
    return {"Fn::" + suffix: value}


CfnLoader.add_multi_constructor("!", _construct_tag)


def load(path):
    with open(path, encoding="utf-8") as f:
        return yaml.load(f, Loader=CfnLoader)


class _NoManagedPolicies:
    """The translator's managed policy loader, offline: the template names no managed policy."""

    def load(self):
        return {}


# What `sam package` puts in place of a local CodeUri (the translator wants S3).
PACKAGED_CODE = "s3://example-bucket/code.zip"


def transform(template, parameters, region):
    """The SAM transform of `template` (a dict) with these parameter values."""
    os.environ.setdefault("AWS_DEFAULT_REGION", region)  # the translator asks boto3 for a Region
    from samtranslator.translator.transform import transform as sam_transform

    # The translator records usage metrics and warns when nobody publishes them.
    logging.getLogger("samtranslator.metrics").setLevel(logging.ERROR)
    # ... and says which of its feature toggles it lacks offline (none is needed).
    logging.getLogger("samtranslator.feature_toggle").setLevel(logging.ERROR)
    sam = copy.deepcopy(template)
    for res in (sam.get("Resources") or {}).values():
        if res.get("Type") == "AWS::Serverless::Function":
            res.setdefault("Properties", {})["CodeUri"] = PACKAGED_CODE
    return sam_transform(sam, {**parameters, "AWS::Region": region}, _NoManagedPolicies())


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    parameters = dict(a.split("=", 1) for a in argv[3:])
    region = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
    out = transform(load(argv[1]), parameters, region)
    with open(argv[2], "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1, sort_keys=False)
        f.write("\n")
    print(f"{argv[2]}: {len(out.get('Resources') or {})} resources after the SAM transform")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
