"""Safe deployments (alias + CodeDeploy, rolled back by alarms) and a first deploy
that just works: no required parameter, the state key generated unless given, the
logout function only when configured, the outputs an operator needs."""

import pytest

from cfn import ref_name

LOGOUT = {"CognitoDomain": "https://auth.example.com", "LogoutCallbackUrl": "https://api.example.com/logout/callback"}
STATE_KEY = "arn:aws:secretsmanager:us-east-1:123456789012:secret:signout/logout-state-key-AbCdEf"
GUARDED = {"authorizer": "Errors", "pre-token": "Duration"}  # binary -> an alarm its rollback must include


@pytest.mark.parametrize("binary", sorted(GUARDED))
def test_authorizer_and_trigger_shift_alias_live_gradually(template, binary):
    lid, fn = template.functions[binary]
    p = fn["Properties"]
    assert p.get("AutoPublishAlias") == "live"
    assert ref_name(p["DeploymentPreference"]["Type"]) == "DeploymentType"


@pytest.mark.parametrize("binary", sorted(GUARDED))
def test_rollback_alarms_watch_the_function_being_deployed(template, binary):
    lid, fn = template.functions[binary]
    names = [ref_name(a) for a in fn["Properties"]["DeploymentPreference"]["Alarms"]]
    metrics = []
    for name in names:
        alarm = template.resources[name]
        assert alarm["Type"] == "AWS::CloudWatch::Alarm" and "Condition" not in alarm, name
        dims = {d["Name"]: d["Value"] for d in alarm["Properties"]["Dimensions"]}
        assert dims in ({"FunctionName": {"Ref": lid}}, {"Function": binary}), f"{name} watches {dims}"
        metrics.append(alarm["Properties"]["MetricName"])
    assert {"Errors", GUARDED[binary], "StoreErrors"} <= set(metrics)


def test_deployment_type_offers_canary_linear_and_all_at_once(template):
    p = template.parameters["DeploymentType"]
    assert p["Default"].startswith("Canary")
    assert "AllAtOnce" in p["AllowedValues"] and any(v.startswith("Linear") for v in p["AllowedValues"])


@pytest.mark.parametrize("kind", ["Canary10Percent5Minutes", "AllAtOnce"])
def test_deployment_groups_roll_back_on_alarm(transformed, kind):
    resources = transformed(DeploymentType=kind)["Resources"]
    groups = {lid: r for lid, r in resources.items() if r["Type"] == "AWS::CodeDeploy::DeploymentGroup"}
    assert sorted(groups) == ["AuthorizerFunctionDeploymentGroup", "PreTokenFunctionDeploymentGroup"]
    for lid, res in groups.items():
        p = res["Properties"]
        assert p["DeploymentConfigName"]["Fn::Sub"][1]["ConfigName"] == kind
        assert p["AlarmConfiguration"]["Enabled"] is True and len(p["AlarmConfiguration"]["Alarms"]) >= 3
        assert "DEPLOYMENT_STOP_ON_ALARM" in p["AutoRollbackConfiguration"]["Events"]


def test_callers_reach_the_alias_not_the_unqualified_function(deployed):
    d = deployed()
    perms = {lid: r["Properties"] for lid, r in d.resources.items() if r["Type"] == "AWS::Lambda::Permission"}
    assert perms["AuthorizerInvokePermission"]["FunctionName"] == {"Ref": "AuthorizerFunctionAliaslive"}
    assert perms["PreTokenInvokePermission"]["FunctionName"] == {"Ref": "PreTokenFunctionAliaslive"}
    pool = d.resources["DemoUserPool"]["Properties"]["LambdaConfig"]["PreTokenGenerationConfig"]
    assert pool["LambdaArn"].endswith(":function:cognito-signout-pre-token:live")
    body = d.resources["HttpApi"]["Properties"]["Body"]
    uri = body["components"]["securitySchemes"]["SignoutAuthorizer"]["x-amazon-apigateway-authorizer"]["authorizerUri"]
    assert uri["Fn::Sub"][1]["__FunctionArn__"] == {"Ref": "AuthorizerFunctionAliaslive"}
    assert d.outputs["AuthorizerFunctionArn"]["Value"] == {"Ref": "AuthorizerFunctionAliaslive"}
    assert d.outputs["PreTokenFunctionArn"]["Value"] == {"Ref": "PreTokenFunctionAliaslive"}


def test_first_deploy_needs_no_answer(template):
    missing = [name for name, p in template.parameters.items() if "Default" not in p]
    assert not missing


def test_logout_is_not_deployed_until_configured_and_says_how(deployed):
    d = deployed(CognitoDomain="https://auth.example.com")  # the callback URL still missing
    logout = [lid for lid in d.resources if lid.startswith("Logout")]
    assert not logout, logout
    paths = d.resources["HttpApi"]["Properties"]["Body"]["paths"]
    assert "/logout" not in paths and "/logout/callback" not in paths and "/revoke" in paths
    assert "LogoutCallbackUrl" not in d.outputs
    hint = d.outputs["LogoutNotDeployed"]["Value"]
    assert "CognitoDomain" in str(hint) and "/logout/callback" in str(hint)


def test_configured_logout_deploys_with_routes_alarms_and_callback_output(deployed):
    d = deployed(**LOGOUT)
    for lid in ("LogoutFunction", "LogoutRole", "LogoutLogGroup", "LogoutErrorsAlarm", "LogoutPartialSignOutsAlarm"):
        assert lid in d.resources, lid
    paths = d.resources["HttpApi"]["Properties"]["Body"]["paths"]
    assert "/logout" in paths and "/logout/callback" in paths
    assert d.outputs["LogoutCallbackUrl"]["Value"] == LOGOUT["LogoutCallbackUrl"]
    assert "LogoutNotDeployed" not in d.outputs


def test_state_key_is_generated_when_none_is_given(deployed):
    d = deployed(**LOGOUT)
    key = d.resources["LogoutStateKey"]
    assert key["Type"] == "AWS::SecretsManager::Secret"
    gen = key["Properties"]["GenerateSecretString"]
    # Letters and digits read as base64: 64 give 48 bytes, at least the 32 the function requires.
    assert gen["PasswordLength"] >= 44 and gen.get("ExcludePunctuation") is True
    env = d.resources["LogoutFunction"]["Properties"]["Environment"]["Variables"]
    assert env["LOGOUT_STATE_KEY_ARN"] == {"Ref": "LogoutStateKey"}
    statements = d.resources["LogoutRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    (read,) = [s for s in statements if s.get("Sid") == "ReadStateKey"]
    assert read["Resource"] == {"Ref": "LogoutStateKey"}


def test_a_given_state_key_is_used_and_none_generated(deployed):
    d = deployed(LogoutStateKeyArn=STATE_KEY, **LOGOUT)
    assert "LogoutStateKey" not in d.resources
    env = d.resources["LogoutFunction"]["Properties"]["Environment"]["Variables"]
    assert env["LOGOUT_STATE_KEY_ARN"] == STATE_KEY
    assert d.outputs["LogoutStateKeyArn"]["Value"] == STATE_KEY


def test_no_state_key_is_generated_without_the_logout_function(deployed):
    assert "LogoutStateKey" not in deployed().resources


def test_outputs_name_api_authorizer_table_dashboard(deployed):
    d = deployed()
    for name in ("ApiUrl", "AuthorizerFunctionArn", "PreTokenFunctionArn", "TableName", "DashboardUrl"):
        assert name in d.outputs, name
    assert "#dashboards:name=" in str(d.outputs["DashboardUrl"]["Value"])
