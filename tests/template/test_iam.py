"""Least privilege: one role per function, exact actions, resources scoped to the table, pool, secrets and log group."""

import re

import pytest
from conftest import assert_no_problems
from model import EXPECTED_ACTIONS, EXPECTED_SECRETS, LOG_ACTIONS, STREAM_ACTIONS, TRACE_ACTIONS

from cfn import as_list, branches, is_getatt, ref_name, strings_in

BINARIES = sorted(EXPECTED_ACTIONS)

def resource_ok(t, action, resource, binary, problems, where):
    service = action.split(":")[0]
    log_group = t.log_group_of(binary)
    for r in branches(resource):
        if action in TRACE_ACTIONS:
            if r != "*":
                problems.append(f"{where}: {action} takes no resource but \"*\", not {r!r}")
            continue
        if action == "dynamodb:ListStreams":
            if not t.is_table_streams_arn(r):
                problems.append(f"{where}: {action} must be scoped to the streams of the table in use, not {r!r}")
            continue
        if any("*" in s for s in strings_in(r)):
            problems.append(f"{where}: {action} on a wildcard resource {r!r}")
            continue
        if action in STREAM_ACTIONS:
            if not t.is_stream_arn(r):
                problems.append(f"{where}: {action} must be scoped to the stream of the table in use, not {r!r}")
        elif service == "dynamodb":
            if not t.is_table_arn(r):
                problems.append(
                    f"{where}: {action} must be scoped to the table in use in this Region "
                    f"(!Sub arn:${{AWS::Partition}}:dynamodb:${{AWS::Region}}:${{AWS::AccountId}}:table/${{Name}}"
                    f" with Name the table in use), not {r!r}"
                )
        elif service == "cognito-idp":
            text = " ".join(strings_in(r))
            pool_ok = is_getatt(r, "DemoUserPool") or (
                "Fn::Sub" in r and ":cognito-idp:" in text and re.search(r":userpool/\$\{[^}]+\}$", text.split()[0])
            )
            if not pool_ok:
                problems.append(f"{where}: {action} must be scoped to the user pool ARN, not {r!r}")
        elif service == "secretsmanager":
            name = ref_name(r)
            if name not in EXPECTED_SECRETS[binary]:
                problems.append(
                    f"{where}: {action} on {r!r}; allowed only on {sorted(EXPECTED_SECRETS[binary])}"
                )
        elif service == "kms":
            if not is_getatt(r, "EventsSigningKey"):
                problems.append(f"{where}: {action} must be scoped to the stack's signing key, not {r!r}")
        elif service == "sqs":
            if not is_getatt(r, "EventsDeadLetterQueue"):
                problems.append(f"{where}: {action} must be scoped to the events' dead-letter queue, not {r!r}")
        elif service == "events":
            text = " ".join(strings_in(r))
            if not re.fullmatch(r".*:events:\$\{AWS::Region\}:\$\{AWS::AccountId\}:event-bus/\$\{EventBusName\}", text):
                problems.append(f"{where}: {action} must be scoped to the EventBusName bus, not {r!r}")
        elif service == "logs":
            if not (log_group and is_getatt(r, log_group)):
                problems.append(f"{where}: {action} must be scoped to the function's own log group")
        else:
            problems.append(f"{where}: unexpected service in {action}")


def check_iam(t, problems, binary):
    statements = t.statements_of(binary, problems)
    if not statements:
        problems.append("no IAM statements found")
    actions = set()
    secrets = set()
    for st, source in statements:
        where = f"{source}/{st.get('Sid', '?')}"
        for bad in ("NotAction", "NotResource", "NotPrincipal"):
            if bad in st:
                problems.append(f"{where}: {bad} is not allowed")
        if st.get("Effect") != "Allow":
            continue
        st_actions = [a for a in as_list(st.get("Action")) if isinstance(a, str)]
        if not st_actions:
            problems.append(f"{where}: no Action")
        resources = as_list(st.get("Resource"))
        if not resources:
            problems.append(f"{where}: no Resource")
        for a in st_actions:
            if "*" in a or "?" in a:
                problems.append(f"{where}: wildcard action {a!r}")
                continue
            actions.add(a)
            for r in resources:
                resource_ok(t, a, r, binary, problems, where)
                if a.startswith("secretsmanager:") and ref_name(r):
                    secrets.add(ref_name(r))
    expected = EXPECTED_ACTIONS[binary]
    extra = actions - expected - LOG_ACTIONS - TRACE_ACTIONS
    missing = (expected | TRACE_ACTIONS) - actions
    if extra:
        problems.append(f"actions beyond {sorted(expected)}: {sorted(extra)}")
    if missing:
        problems.append(f"actions the function needs but lacks: {sorted(missing)}")
    if secrets != EXPECTED_SECRETS[binary]:
        problems.append(f"secrets readable: {sorted(secrets)}, expected {sorted(EXPECTED_SECRETS[binary])}")


def check_no_broad_policies(t, problems):
    for lid, res in t.resources.items():
        props = res.get("Properties") or {}
        for arn in as_list(props.get("ManagedPolicyArns") or []):
            if "FullAccess" in " ".join(strings_in(arn)) or "AdministratorAccess" in " ".join(strings_in(arn)):
                problems.append(f"{lid}: broad managed policy {arn!r}")
        for pol in as_list(props.get("Policies") or []):
            if isinstance(pol, str) and ("FullAccess" in pol or "Administrator" in pol):
                problems.append(f"{lid}: broad managed policy {pol!r}")


@pytest.mark.parametrize("binary", BINARIES)
def test_actions_and_resources_are_least_privilege(template, binary):
    assert_no_problems(check_iam, template, binary)


def test_no_broad_managed_policies(template):
    assert_no_problems(check_no_broad_policies, template)


def test_codedeploy_role_holds_only_the_lambda_deployment_policy(transformed):
    """SAM's CodeDeploy service role (safe deployments) gets AWS's Lambda policy, nothing broader."""
    roles = {lid: r for lid, r in transformed()["Resources"].items() if r["Type"] == "AWS::IAM::Role"}
    role = roles.get("CodeDeployServiceRole")
    assert role, f"no CodeDeployServiceRole among {sorted(roles)}"
    props = role["Properties"]
    assert props.get("ManagedPolicyArns") == ["arn:aws:iam::aws:policy/service-role/AWSCodeDeployRoleForLambda"]
    assert not props.get("Policies")
