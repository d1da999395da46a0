"""Sign-out events (issue 18): the stream, the events function's event source mapping,
the signing key, the dead-letter queue and the alarms on them."""

import json

from cfn import is_getatt


def events_function(template):
    return template.functions["events"]


def stream_event(template):
    _, res = events_function(template)
    events = res["Properties"]["Events"]
    assert list(events) == ["Stream"], "one event source: the table's stream"
    assert events["Stream"]["Type"] == "DynamoDB"
    return events["Stream"]["Properties"]


def test_both_tables_stream_new_and_old_images(template):
    for lid, table in template.tables():
        spec = table["Properties"].get("StreamSpecification") or {}
        assert spec.get("StreamViewType") == "NEW_AND_OLD_IMAGES", lid


def test_the_mapping_reports_partial_failures_bisects_and_bounds_retries(template):
    p = stream_event(template)
    assert p["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert p["BisectBatchOnFunctionError"] is True
    assert 1 <= p["MaximumRetryAttempts"] <= 10000
    # Redrive reads the records back from the stream, which keeps them 24 hours.
    assert 60 <= p["MaximumRecordAgeInSeconds"] <= 6 * 3600
    assert p["StartingPosition"] == "TRIM_HORIZON"
    assert p["ParallelizationFactor"] == 1, "order per item needs one batch per shard at a time"


def test_the_mapping_keeps_what_it_cannot_deliver_in_the_dead_letter_queue(template):
    on_failure = stream_event(template)["DestinationConfig"]["OnFailure"]
    assert on_failure["Type"] == "SQS"
    assert is_getatt(on_failure["Destination"], "EventsDeadLetterQueue")
    queue = template.resources["EventsDeadLetterQueue"]["Properties"]
    assert queue["MessageRetentionPeriod"] == 1209600


def test_the_mapping_never_invokes_for_deletions(template):
    filters = stream_event(template)["FilterCriteria"]["Filters"]
    assert [json.loads(f["Pattern"]) for f in filters] == [{"eventName": ["INSERT", "MODIFY"]}]


def test_the_mapping_reads_the_stream_of_the_table_in_use(template):
    assert template.is_stream_arn_everywhere(stream_event(template)["Stream"])


def test_the_signing_key_is_rsa_2048_for_signing_only(template):
    key = template.resources["EventsSigningKey"]
    assert key["Condition"] == "SignEvents"
    p = key["Properties"]
    assert (p["KeySpec"], p["KeyUsage"]) == ("RSA_2048", "SIGN_VERIFY")
    principals = [st["Principal"] for st in p["KeyPolicy"]["Statement"]]
    assert principals == [{"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}]


def test_the_functions_sign_with_and_publish_the_stacks_key(template):
    for binary in ("events", "signout-api"):
        env = template.env_of(template.functions[binary][1])
        assert env["EVENTS_SIGNING_KEYS"] == {"Fn::If": ["SignEvents", {"Fn::GetAtt": ["EventsSigningKey", "Arn"]}, {"Ref": "AWS::NoValue"}]}
        assert env["EVENTS_ISSUER"] == {"Fn::If": ["SignEvents", {"Ref": "EventsIssuer"}, {"Ref": "AWS::NoValue"}]}


def test_alarms_watch_the_dead_letter_queue_and_the_iterator_age(template):
    alarms = template.of_type("AWS::CloudWatch::Alarm")
    dlq = [a for a in alarms.values() if a["Properties"].get("Namespace") == "AWS/SQS"]
    assert len(dlq) == 1
    p = dlq[0]["Properties"]
    assert p["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert is_getatt(p["Dimensions"][0]["Value"], "EventsDeadLetterQueue", "QueueName")
    assert (p["Threshold"], p["ComparisonOperator"]) == (0, "GreaterThanThreshold")
    age = [a for a in alarms.values() if a["Properties"].get("MetricName") == "IteratorAge"]
    assert len(age) == 1
    assert age[0]["Properties"]["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": events_function(template)[0]}}]
    assert all(a.get("Condition") == "DeployEvents" for a in dlq + age)


def test_receivers_cannot_be_configured_without_an_issuer(template):
    rule = template.t["Rules"]["ReceiversNeedIssuer"]
    assert "BackchannelLogout" in json.dumps(rule["RuleCondition"]) and "SsfReceivers" in json.dumps(rule["RuleCondition"])
    assert rule["Assertions"][0]["Assert"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "EventsIssuer"}, ""]}]}
