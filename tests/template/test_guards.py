"""Guards of the public API and what must outlive the stack: access logs, throttling
(every route, and tighter on POST /revoke), the sign-out API's reserved concurrency,
retained log groups."""

import json
import re

from model import EXPECTED_ACTIONS, EXPECTED_ROUTES

from cfn import PSEUDO, ref_name

STACK_UUID = PSEUDO["AWS::StackId"].rsplit("/", 1)[1]


def api(template):
    return template.resources["HttpApi"]["Properties"]


def test_access_logs_are_json_lines_in_a_retained_log_group(template):
    settings = api(template)["AccessLogSettings"]
    group = settings["DestinationArn"]["Fn::GetAtt"]
    assert group[1] == "Arn"
    res = template.resources[group[0]]
    assert res["Type"] == "AWS::Logs::LogGroup"
    assert res.get("DeletionPolicy") == "Retain" and res.get("UpdateReplacePolicy") == "Retain"
    line = json.loads(re.sub(r"\$context\.[\w.]+", "v", settings["Format"]))
    assert {"requestId", "routeKey", "status", "sourceIp", "iamCaller"} <= set(line)


def test_access_logs_record_nothing_a_caller_sends_beyond_route_and_user_agent(template):
    fmt = api(template)["AccessLogSettings"]["Format"]
    variables = set(re.findall(r"\$[\w.]+", fmt))
    assert not [v for v in variables if not v.startswith("$context.")], variables
    for leak in ("header", "querystring", "body", "path", "claims", "identity.apiKey"):
        assert not [v for v in variables if leak in v.lower()], f"{leak}: {variables}"


def test_every_route_is_throttled_from_parameters(template):
    settings = api(template)["DefaultRouteSettings"]
    assert ref_name(settings["ThrottlingRateLimit"]) == "ApiThrottleRateLimit"
    assert ref_name(settings["ThrottlingBurstLimit"]) == "ApiThrottleBurstLimit"


def test_revoke_has_a_tighter_throttle_than_the_other_routes(template):
    routes = api(template)["RouteSettings"]
    assert list(routes) == ["POST /revoke"]
    assert ("POST", "/revoke") in EXPECTED_ROUTES and EXPECTED_ROUTES[("POST", "/revoke")][1] is None
    revoke = routes["POST /revoke"]
    rate, burst = ref_name(revoke["ThrottlingRateLimit"]), ref_name(revoke["ThrottlingBurstLimit"])
    p = template.parameters
    assert p[rate]["Default"] < p["ApiThrottleRateLimit"]["Default"]
    assert p[burst]["Default"] < p["ApiThrottleBurstLimit"]["Default"]


def test_throttles_reach_the_deployed_stage(deployed):
    d = deployed(ApiThrottleRateLimit="50", RevokeThrottleRateLimit="2", RevokeThrottleBurstLimit="4")
    (stage,) = [r for r in d.resources.values() if r["Type"] == "AWS::ApiGatewayV2::Stage"]
    p = stage["Properties"]
    assert p["DefaultRouteSettings"]["ThrottlingRateLimit"] == "50"
    assert p["RouteSettings"]["POST /revoke"] == {"ThrottlingRateLimit": "2", "ThrottlingBurstLimit": "4"}


def test_sign_out_api_concurrency_is_reserved_only_when_set(deployed):
    assert "ReservedConcurrentExecutions" not in deployed().resources["SignoutApiFunction"]["Properties"]
    reserved = deployed(SignoutApiReservedConcurrency="50").resources["SignoutApiFunction"]["Properties"]
    assert reserved["ReservedConcurrentExecutions"] == "50"


def test_authorizer_and_trigger_are_never_capped(deployed):
    d = deployed(SignoutApiReservedConcurrency="50")
    for lid in ("AuthorizerFunction", "PreTokenFunction"):
        assert "ReservedConcurrentExecutions" not in d.resources[lid]["Properties"], lid


def test_every_log_group_is_retained_with_the_retention_parameter(template):
    groups = template.of_type("AWS::Logs::LogGroup")
    assert len(groups) == len(EXPECTED_ACTIONS) + 1  # one per function, the API's access logs
    for lid, res in groups.items():
        assert res.get("DeletionPolicy") == "Retain" and res.get("UpdateReplacePolicy") == "Retain", lid
        assert ref_name(res["Properties"]["RetentionInDays"]) == "LogRetentionInDays", lid


def test_log_group_names_carry_the_stack_uuid_so_a_recreated_stack_does_not_collide(deployed):
    d = deployed(CognitoDomain="https://auth.example.com", LogoutCallbackUrl="https://api.example.com/logout/callback")
    names = [r["Properties"]["LogGroupName"] for r in d.resources.values() if r["Type"] == "AWS::Logs::LogGroup"]
    assert len(names) == len(EXPECTED_ACTIONS) + 1
    for name in names:
        assert isinstance(name, str) and name.endswith("-" + STACK_UUID), name
        assert name.startswith("/aws/lambda/cognito-signout-") or name.startswith("/aws/vendedlogs/cognito-signout-"), name
