"""`cargo lambda deploy` agrees with the template: cargo-lambda itself (`--dry`,
which resolves the configuration without deploying) reads each function's
`[package.metadata.lambda.deploy]` and must find the template's memory, timeout,
tracing and log retention."""

import json
import os
import shutil
import subprocess

import pytest
from model import EXPECTED_ACTIONS

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CARGO_LAMBDA = os.path.join(ROOT, ".venv", "bin", "cargo-lambda")
BINARIES = sorted(EXPECTED_ACTIONS)


def resolved(binary, tmp_path, *extra):
    # Any executable stands for the binary: --dry only reads its ELF header and zips it.
    bootstrap = tmp_path / "bootstrap"
    shutil.copy("/bin/true", bootstrap)
    out = subprocess.run(
        [CARGO_LAMBDA, "lambda", "deploy", "--dry", "-o", "json",
         "--manifest-path", os.path.join(ROOT, "functions", binary, "Cargo.toml"),
         "--binary-path", str(bootstrap), *extra, binary],
        cwd=ROOT, capture_output=True, text=True, check=True,
        env={**os.environ, "AWS_REGION": "us-east-1"},
    )
    return json.loads(out.stdout[out.stdout.index("{"):])["config"]


@pytest.mark.parametrize("binary", BINARIES)
def test_cargo_lambda_deploy_settings_match_the_template(template, binary, tmp_path):
    config = resolved(binary, tmp_path)
    _, res = template.functions[binary]
    retention = template.t["Parameters"]["LogRetentionInDays"]["Default"]
    assert config["memory"] == template.prop(res, "MemorySize")
    assert config["timeout"] == template.prop(res, "Timeout")
    assert config["tracing"] == template.prop(res, "Tracing") == "Active"
    assert config["log_retention"] == retention
    assert config["runtime"] == template.prop(res, "Runtime")


@pytest.mark.parametrize("binary", BINARIES)
def test_the_cargo_lambda_example_adds_only_the_role(template, binary, tmp_path):
    own = resolved(binary, tmp_path)
    example = os.path.join(ROOT, "CargoLambda.toml.example")
    config = resolved(binary, tmp_path, "--global", example, "--context", binary)
    assert config["role"].startswith("arn:aws:iam::123456789012:role/signout-")
    for key in ("memory", "timeout", "tracing", "log_retention", "runtime"):
        assert config[key] == own[key], key
