"""The template as deployed in one or several Regions: tables, replicas, SIGNOUT_TABLE, SIGNOUT_REGIONS, IAM, TableName."""

import pytest
from conftest import assert_no_problems
from model import EXPECTED_ACTIONS, PARAMETER_SAMPLES, REGION_SCENARIOS, STREAM_ACTIONS

from cfn import (
    PSEUDO,
    Deployed,
    parameter_problem,
    parse_regions,
    refs_in,
    render,
    sam_transform,
    table_deletion_protection_problems,
    table_key_problems,
    table_pitr_problems,
    table_sse_problems,
    table_ttl_problems,
)

def check_region_parameters(t, problems):
    for name, accepted, rejected in PARAMETER_SAMPLES:
        p = t.parameters.get(name)
        if p is None:
            problems.append(f"parameter {name} is missing")
            continue
        if p.get("Type") != "String" or p.get("Default") != "":
            problems.append(f"parameter {name}: must be a String defaulting to empty")
        for value in accepted:
            if parameter_problem(name, p, value):
                problems.append(f"parameter {name}: must accept {value!r}")
        for value in rejected:
            if not parameter_problem(name, p, value):
                problems.append(f"parameter {name}: must reject {value!r}")


def check_deployed(t, problems, region, parameters, want_table, want_replicas, want_regions):
    d = Deployed(sam_transform(t.t, parameters, region), parameters, region)
    by_type = {}
    for lid, res in d.resources.items():
        by_type.setdefault(res.get("Type"), []).append(lid)
    plain = by_type.get("AWS::DynamoDB::Table", [])
    glob = by_type.get("AWS::DynamoDB::GlobalTable", [])
    if want_table == "plain":
        if len(plain) != 1 or glob:
            problems.append(f"expected exactly one AWS::DynamoDB::Table and no GlobalTable, got {plain} and {glob}")
            return
        name = "<%s>" % plain[0]
    elif want_table == "global":
        if len(glob) != 1 or plain:
            problems.append(f"expected exactly one AWS::DynamoDB::GlobalTable and no Table, got {glob} and {plain}")
            return
        name = "<%s>" % glob[0]
        table = d.resources[glob[0]]
        for check in (table_key_problems, table_ttl_problems, table_pitr_problems,
                      table_deletion_protection_problems, table_sse_problems):
            problems.extend(f"{glob[0]}: {p}" for p in check(table))
        replicas = [r.get("Region") for r in (table.get("Properties") or {}).get("Replicas") or []]
        if replicas != want_replicas:
            problems.append(f"{glob[0]}: replicas {replicas}, expected {want_replicas}")
    else:
        if plain or glob:
            problems.append(f"expected no table with ExistingTableName, got {plain + glob}")
        name = want_table
    arn = f"arn:aws:dynamodb:{region}:{PSEUDO['AWS::AccountId']}:table/{name}"
    functions = {lid: res for lid, res in d.resources.items() if res.get("Type") == "AWS::Lambda::Function"}
    # The logout function exists only once its domain and callback URL are given.
    logout = bool(parameters.get("CognitoDomain") and parameters.get("LogoutCallbackUrl"))
    # The events function reads the stream: of the stack's table, or ExistingTableName's
    # once its stream label is given.
    events = not parameters.get("ExistingTableName") or bool(parameters.get("ExistingTableStreamLabel"))
    want_count = len(EXPECTED_ACTIONS) - (0 if logout else 1) - (0 if events else 1)
    if len(functions) != want_count:
        problems.append(f"expected {want_count} functions, got {sorted(functions)}")
    for lid, res in functions.items():
        env = (((res.get("Properties") or {}).get("Environment") or {}).get("Variables")) or {}
        if render(env.get("SIGNOUT_TABLE")) != name:
            problems.append(f"{lid}: SIGNOUT_TABLE is {render(env.get('SIGNOUT_TABLE'))}, expected {name}")
        regions = env.get("SIGNOUT_REGIONS")
        if not isinstance(regions, str):
            problems.append(f"{lid}: SIGNOUT_REGIONS is {regions!r}, expected a comma list")
        elif parse_regions(regions) != want_regions:
            problems.append(f"{lid}: SIGNOUT_REGIONS {regions!r} reads as {parse_regions(regions)}, expected {want_regions}")
    for lid, res in d.resources.items():
        if res.get("Type") != "AWS::IAM::Role":
            continue
        for pol in (res.get("Properties") or {}).get("Policies") or []:
            for st in (pol.get("PolicyDocument") or {}).get("Statement") or []:
                actions = st.get("Action") if isinstance(st.get("Action"), list) else [st.get("Action")]
                # The stream's actions are on the stream, not the table (test_iam.py).
                if not any(
                    str(a).startswith("dynamodb:") and a not in STREAM_ACTIONS | {"dynamodb:ListStreams"}
                    for a in actions
                ):
                    continue
                resources = st.get("Resource") if isinstance(st.get("Resource"), list) else [st.get("Resource")]
                got = [render(r) for r in resources]
                if got != [arn]:
                    problems.append(f"{lid}/{st.get('Sid', '?')}: DynamoDB resources {got}, expected [{arn!r}]")
    output = render(((d.outputs.get("TableName") or {}).get("Value")))
    if output != name:
        problems.append(f"output TableName is {output}, expected {name}")
    known = set(d.resources) | set(d.values)
    dangling = {n for n in refs_in([d.resources, d.outputs]) if n not in known}
    if dangling:
        problems.append(f"references to resources that are not created: {sorted(dangling)}")


def test_replica_regions_at_most_three_and_existing_table_name(template):
    assert_no_problems(check_region_parameters, template)


@pytest.mark.parametrize(
    "name,region,parameters,want_table,want_replicas,want_regions", REGION_SCENARIOS, ids=[s[0] for s in REGION_SCENARIOS]
)
def test_deployed_tables_replicas_env_iam_and_table_output(template, name, region, parameters, want_table, want_replicas, want_regions):
    assert_no_problems(check_deployed, template, region, parameters, want_table, want_replicas, want_regions)
