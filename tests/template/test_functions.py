"""The four functions as written: transform, build metadata, runtime, log groups, environment."""

import pytest
from conftest import assert_no_problems
from model import EXPECTED_ACTIONS, EXPECTED_ENV, GLOBAL_ENV, MAX_TIMEOUT

from cfn import ref_name, refs_in

BINARIES = sorted(EXPECTED_ACTIONS)

def check_transform(t, problems):
    transform = t.t.get("Transform")
    transforms = transform if isinstance(transform, list) else [transform]
    if "AWS::Serverless-2016-10-31" not in transforms:
        problems.append("Transform AWS::Serverless-2016-10-31 is missing")
    if t.table is None:
        problems.append("expected exactly one AWS::DynamoDB::Table")
    if t.global_table is None:
        problems.append("expected exactly one AWS::DynamoDB::GlobalTable (used with ReplicaRegions)")
    missing = set(EXPECTED_ACTIONS) - set(t.functions)
    if missing:
        problems.append(f"functions missing (by BuildProperties.Binary): {sorted(missing)}")


def check_function_build(t, problems, binary):
    lid, res = t.functions[binary]
    meta = res.get("Metadata") or {}
    if meta.get("BuildMethod") != "rust-cargolambda":
        problems.append(f"{lid}: Metadata.BuildMethod must be rust-cargolambda")
    if (meta.get("BuildProperties") or {}).get("Binary") != binary:
        problems.append(f"{lid}: Metadata.BuildProperties.Binary must be {binary}")
    if (res.get("Properties") or {}).get("CodeUri", t.globals.get("CodeUri")) not in (".", "./"):
        problems.append(f"{lid}: CodeUri must be the workspace root (.)")
    if t.prop(res, "Runtime") != "provided.al2023":
        problems.append(f"{lid}: Runtime must be provided.al2023")
    if t.prop(res, "Handler") != "bootstrap":
        problems.append(f"{lid}: Handler must be bootstrap")
    if t.prop(res, "Tracing") != "Active":
        problems.append(f"{lid}: Tracing must be Active (X-Ray)")
    arch = t.prop(res, "Architectures")
    if arch != [{"Ref": "Architecture"}]:
        problems.append(f"{lid}: Architectures must be [!Ref Architecture]")
    param = t.parameters.get("Architecture") or {}
    if param.get("Default") != "arm64" or set(param.get("AllowedValues") or []) != {"arm64", "x86_64"}:
        problems.append("parameter Architecture must default to arm64 and allow arm64, x86_64")
    timeout = t.prop(res, "Timeout")
    if not isinstance(timeout, int) or timeout > MAX_TIMEOUT[binary]:
        problems.append(f"{lid}: Timeout must be a number at most {MAX_TIMEOUT[binary]} s (is {timeout!r})")


def check_log_group(t, problems, binary):
    lid, res = t.functions[binary]
    group = t.log_group_of(binary)
    g = t.resources.get(group) if group else None
    if not g or g.get("Type") != "AWS::Logs::LogGroup":
        problems.append(f"{lid}: LoggingConfig.LogGroup must be !Ref of an AWS::Logs::LogGroup")
        return
    others = [b for b in t.functions if b != binary and t.log_group_of(b) == group]
    if others:
        problems.append(f"{group}: shared with {others}")
    retention = (g.get("Properties") or {}).get("RetentionInDays")
    if retention is None:
        problems.append(f"{group}: RetentionInDays is missing")
    elif ref_name(retention):
        param = t.parameters.get(ref_name(retention)) or {}
        if param.get("Default") is None:
            problems.append(f"{group}: retention parameter {ref_name(retention)} has no default")
    cfg = t.globals.get("LoggingConfig") or {}
    merged = {**cfg, **((res.get("Properties") or {}).get("LoggingConfig") or {})}
    if merged.get("LogFormat") != "JSON" or merged.get("ApplicationLogLevel") != "INFO":
        problems.append(f"{lid}: LoggingConfig must be LogFormat JSON, ApplicationLogLevel INFO")


def check_env(t, problems, binary):
    lid, res = t.functions[binary]
    env = t.env_of(res)
    missing = (GLOBAL_ENV | EXPECTED_ENV[binary]) - set(env)
    if missing:
        problems.append(f"{lid}: missing environment variables {sorted(missing)}")
    if "SIGNOUT_TABLE" in env and not t.is_table_name(env["SIGNOUT_TABLE"]):
        problems.append(f"{lid}: SIGNOUT_TABLE must name the table in use (plain, global or ExistingTableName)")
    if "SIGNOUT_REGIONS" in env and not {"AWS::Region", "ReplicaRegions"} <= set(refs_in(env["SIGNOUT_REGIONS"])):
        problems.append(f"{lid}: SIGNOUT_REGIONS must list AWS::Region and ReplicaRegions")
    reserved = [k for k in env if k.startswith("AWS_") and not k.startswith("AWS_ENDPOINT_URL")]
    if reserved:
        problems.append(f"{lid}: sets reserved variables {reserved} (Lambda sets AWS_REGION itself)")
    for k in ("APP_CLIENT_SECRETS", "LOGOUT_STATE_KEY"):
        if k in env:
            problems.append(f"{lid}: {k} holds a secret value; pass {k}_ARN instead")


def test_sam_transform_one_table_one_global_table_four_functions(template):
    assert_no_problems(check_transform, template)


@pytest.mark.parametrize("binary", BINARIES)
def test_build_metadata_runtime_architecture_timeout(template, binary):
    assert_no_problems(check_function_build, template, binary)


@pytest.mark.parametrize("binary", BINARIES)
def test_own_log_group_with_retention(template, binary):
    assert_no_problems(check_log_group, template, binary)


@pytest.mark.parametrize("binary", BINARIES)
def test_environment_variables(template, binary):
    assert_no_problems(check_env, template, binary)
