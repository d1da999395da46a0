"""Alarms and the dashboard: what each alarm watches, the metrics contract with the
functions (EMF namespace and dimensions), notifications only when a topic is given."""

import json
import os
import re

import pytest
from model import EXPECTED_ACTIONS

from cfn import ROOT, ref_name

BINARIES = sorted(EXPECTED_ACTIONS)
# The functions' own metrics (EMF) that have alarms: metric -> binaries alarmed on.
CUSTOM_ALARMS = {
    "FailOpenAllows": ["authorizer"],
    # The events function reads the stream, never the store.
    "StoreErrors": [b for b in BINARIES if b != "events"],
    "PartialSignOuts": ["logout", "signout-api"],
}
TOPIC = "arn:aws:sns:us-east-1:123456789012:oncall"


def alarms(template):
    return template.of_type("AWS::CloudWatch::Alarm")


def find_alarms(template, namespace, metric, dimensions):
    """Alarms on `metric` in `namespace` (a string or a parameter name) with exactly these dimensions."""
    out = []
    for lid, res in alarms(template).items():
        p = res["Properties"]
        ns = p.get("Namespace")
        if (ns == namespace or ref_name(ns) == namespace) and p.get("MetricName") == metric:
            if {d["Name"]: d["Value"] for d in p.get("Dimensions") or []} == dimensions:
                out.append(lid)
    return out


@pytest.mark.parametrize("metric", ["Errors", "Throttles"])
@pytest.mark.parametrize("binary", BINARIES)
def test_each_function_has_an_errors_and_a_throttles_alarm_under_its_condition(template, binary, metric):
    lid, fn = template.functions[binary]
    found = find_alarms(template, "AWS/Lambda", metric, {"FunctionName": {"Ref": lid}})
    assert len(found) == 1, f"{binary}: {metric} alarms {found}"
    alarm = template.resources[found[0]]
    assert alarm.get("Condition") == fn.get("Condition"), "an alarm must exist exactly when its function does"
    p = alarm["Properties"]
    assert (p["Statistic"], p["Threshold"], p["ComparisonOperator"]) == ("Sum", 0, "GreaterThanThreshold")


def test_trigger_duration_alarm_fires_before_cognitos_five_second_budget(template):
    lid, fn = template.functions["pre-token"]
    found = find_alarms(template, "AWS/Lambda", "Duration", {"FunctionName": {"Ref": lid}})
    assert len(found) == 1, found
    p = template.resources[found[0]]["Properties"]
    assert p.get("ExtendedStatistic") in ("p99", "p99.9") or p.get("Statistic") == "Maximum"
    assert p["ComparisonOperator"] == "GreaterThanThreshold" and 2000 <= p["Threshold"] <= 4500
    assert fn["Properties"]["Timeout"] <= 5


@pytest.mark.parametrize(
    "metric,binary", [(m, b) for m, bs in sorted(CUSTOM_ALARMS.items()) for b in bs]
)
def test_emf_metric_alarms_read_metrics_namespace_with_function_dimension(template, metric, binary):
    found = find_alarms(template, "MetricsNamespace", metric, {"Function": binary})
    assert len(found) == 1, f"{metric} for {binary}: {found}"
    alarm = template.resources[found[0]]
    assert alarm.get("Condition") == template.functions[binary][1].get("Condition")
    p = alarm["Properties"]
    assert p["Statistic"] == "Sum" and p["ComparisonOperator"] == "GreaterThanThreshold" and p["Threshold"] == 0


def test_api_5xx_alarm_watches_this_http_api(template):
    found = find_alarms(template, "AWS/ApiGateway", "5xx", {"ApiId": {"Ref": "HttpApi"}})
    assert len(found) == 1, found
    assert template.resources[found[0]]["Properties"]["Statistic"] == "Sum"


def test_metrics_namespace_parameter_reaches_every_function(template):
    p = template.parameters["MetricsNamespace"]
    assert p["Default"] == "CognitoSignout"
    assert not re.fullmatch(p["AllowedPattern"], "") and re.fullmatch(p["AllowedPattern"], "Team/Signout")
    env = template.globals["Environment"]["Variables"]
    assert env.get("METRICS_NAMESPACE") == {"Ref": "MetricsNamespace"}


def test_every_alarm_ignores_missing_data_and_is_named_after_the_stack(template):
    for lid, res in alarms(template).items():
        p = res["Properties"]
        assert p.get("TreatMissingData") == "notBreaching", lid
        assert str(p.get("AlarmName", {}).get("Fn::Sub", "")).startswith("${AWS::StackName}-"), lid


def test_alarm_topic_parameter_takes_an_sns_arn_or_nothing(template):
    pattern = template.parameters["AlarmTopicArn"]["AllowedPattern"]
    assert template.parameters["AlarmTopicArn"]["Default"] == ""
    for ok in ("", TOPIC, "arn:aws-us-gov:sns:us-gov-west-1:123456789012:a_b-c"):
        assert re.fullmatch(pattern, ok), ok
    for bad in ("oncall", "arn:aws:sqs:us-east-1:123456789012:q", "arn:aws:sns:us-east-1:123:t"):
        assert not re.fullmatch(pattern, bad), bad


def test_alarms_notify_the_topic_only_when_one_is_given(deployed):
    quiet = deployed()
    loud = deployed(AlarmTopicArn=TOPIC)
    quiet_alarms = {lid: r for lid, r in quiet.resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    assert quiet_alarms
    for lid, res in quiet_alarms.items():
        assert "AlarmActions" not in res["Properties"] and "OKActions" not in res["Properties"], lid
        p = loud.resources[lid]["Properties"]
        assert p.get("AlarmActions") == [TOPIC] and p.get("OKActions") == [TOPIC], lid


def dashboard(template):
    (lid, res), = template.of_type("AWS::CloudWatch::Dashboard").items()
    body = res["Properties"]["DashboardBody"]["Fn::Sub"]
    names = set(re.findall(r"\$\{([^}]+)\}", body))
    return json.loads(re.sub(r"\$\{([^}]+)\}", lambda m: "X-" + m.group(1), body)), names


def test_dashboard_body_is_json_and_shows_every_metric(template):
    body, names = dashboard(template)
    text = json.dumps(body)
    for metric in ("Decisions", "SignOuts", "FailOpenAllows", "StoreErrors", "PartialSignOuts"):
        assert f'MetricName=\\\\\\"{metric}\\\\\\"' in text or f'MetricName=\\"{metric}\\"' in text, metric
    assert "X-MetricsNamespace" in text
    for metric in ('"Errors"', '"Throttles"', '"Duration"', '"5xx"'):
        assert metric in text, metric


def test_dashboard_alarm_widget_names_only_alarms_that_always_exist(template):
    body, names = dashboard(template)
    (widget,) = [w for w in body["widgets"] if w["type"] == "alarm"]
    listed = [a[len("X-"):-len(".Arn")] for a in widget["properties"]["alarms"]]
    assert listed
    for lid in listed:
        res = template.resources.get(lid) or {}
        assert res.get("Type") == "AWS::CloudWatch::Alarm" and "Condition" not in res, lid
    for ref in names:
        base = ref.split(".")[0]
        assert base.startswith("AWS::") or base in template.resources or base in template.parameters, ref


def test_metrics_contract_is_documented_for_the_functions(template):
    with open(os.path.join(ROOT, "docs", "ARCHITECTURE.md"), encoding="utf-8") as f:
        doc = f.read()
    section = doc[doc.index("## Metrics"):]
    for name in ("METRICS_NAMESPACE", "CognitoSignout", "Function", "FailOpenAllows", "StoreErrors",
                 "PartialSignOuts", "Decisions", "Outcome", "SignOuts", "Kind", "Result"):
        assert name in section, name
