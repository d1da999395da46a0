"""The revocation table: key, TTL, recovery, encryption, retention, deletion protection, the global table."""

from conftest import assert_no_problems

from cfn import (
    NO_VALUE,
    refs_in,
    table_deletion_protection_problems,
    table_key_problems,
    table_pitr_problems,
    table_sse_problems,
    table_ttl_problems,
)

def check_table_key(t, problems):
    for lid, res in t.tables():
        problems.extend(f"{lid}: {p}" for p in table_key_problems(res))


def check_table_ttl(t, problems):
    for lid, res in t.tables():
        problems.extend(f"{lid}: {p}" for p in table_ttl_problems(res))


def check_table_pitr(t, problems):
    for lid, res in t.tables():
        problems.extend(f"{lid}: {p}" for p in table_pitr_problems(res))


def check_table_sse(t, problems):
    for lid, res in t.tables():
        problems.extend(f"{lid}: {p}" for p in table_sse_problems(res))


def check_table_retain(t, problems):
    for lid, res in t.tables():
        for k in ("DeletionPolicy", "UpdateReplacePolicy"):
            if res.get(k) != "Retain":
                problems.append(f"{lid}: {k} must be Retain")


def check_table_deletion_protection(t, problems):
    for lid, res in t.tables():
        problems.extend(f"{lid}: {p}" for p in table_deletion_protection_problems(res))


def check_global_table_replicas(t, problems):
    res = t.resources.get(t.global_table) or {}
    p = res.get("Properties") or {}
    replicas = p.get("Replicas")
    if not isinstance(replicas, list) or not replicas:
        problems.append(f"{t.global_table}: Replicas must be a list")
        return
    if (replicas[0] or {}).get("Region") != {"Ref": "AWS::Region"}:
        problems.append(f"{t.global_table}: the first replica must be this stack's Region (!Ref AWS::Region)")
    # Every other replica is one slot of ReplicaRegions, present only under its condition.
    for i, slot in enumerate(replicas[1:], start=1):
        if not (isinstance(slot, dict) and set(slot) == {"Fn::If"} and slot["Fn::If"][2] == NO_VALUE):
            problems.append(f"{t.global_table}: replica {i} must be !If [<slot condition>, <replica>, !Ref AWS::NoValue]")
        elif "ReplicaRegions" not in set(refs_in(slot["Fn::If"][1].get("Region"))):
            problems.append(f"{t.global_table}: replica {i} must take its Region from ReplicaRegions")
    if (p.get("StreamSpecification") or {}).get("StreamViewType") != "NEW_AND_OLD_IMAGES":
        problems.append(
            f"{t.global_table}: StreamSpecification (required with several replicas, fixed afterwards) "
            "must be NEW_AND_OLD_IMAGES"
        )
    conds = t.t.get("Conditions") or {}
    for lid in (t.table, t.global_table):
        cond = (t.resources.get(lid) or {}).get("Condition")
        if cond not in conds:
            problems.append(f"{lid}: must be created under a condition (plain table, global table or neither)")


def test_key_pk_on_demand(template):
    assert_no_problems(check_table_key, template)


def test_ttl_on_expires_at(template):
    assert_no_problems(check_table_ttl, template)


def test_point_in_time_recovery(template):
    assert_no_problems(check_table_pitr, template)


def test_server_side_encryption(template):
    assert_no_problems(check_table_sse, template)


def test_retained_on_delete_and_replace(template):
    assert_no_problems(check_table_retain, template)


def test_deletion_protection_on_every_replica(template):
    assert_no_problems(check_table_deletion_protection, template)


def test_global_table_this_region_first_one_slot_per_replica_region_stream(template):
    assert_no_problems(check_global_table_replicas, template)
