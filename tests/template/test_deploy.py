"""The demo pool and the outputs; safe deployments of the authorizer and the trigger."""

from conftest import assert_no_problems

from cfn import branches, is_alias, is_getatt, strings_in

def check_demo_pool(t, problems):
    conds = t.t.get("Conditions") or {}
    want = {"Fn::Equals": [{"Ref": "UserPoolId"}, ""]}
    if conds.get("CreateDemoPool") != want:
        problems.append("condition CreateDemoPool must be !Equals [!Ref UserPoolId, '']")
    pools = {lid: r for lid, r in t.resources.items() if r.get("Type") == "AWS::Cognito::UserPool"}
    clients = {lid: r for lid, r in t.resources.items() if r.get("Type") == "AWS::Cognito::UserPoolClient"}
    if len(pools) != 1 or len(clients) != 1:
        problems.append("expected one demo user pool and one client")
        return
    (pool_id, pool), (client_id, client) = next(iter(pools.items())), next(iter(clients.items()))
    for lid, r in ((pool_id, pool), (client_id, client)):
        if r.get("Condition") != "CreateDemoPool":
            problems.append(f"{lid}: must have Condition CreateDemoPool")
    pp = pool.get("Properties") or {}
    if pp.get("UserPoolTier") not in ("ESSENTIALS", "PLUS"):
        problems.append(f"{pool_id}: UserPoolTier must be ESSENTIALS (V2_0 triggers need it)")
    ptg = ((pp.get("LambdaConfig") or {}).get("PreTokenGenerationConfig")) or {}
    if ptg.get("LambdaVersion") != "V2_0":
        problems.append(f"{pool_id}: PreTokenGenerationConfig.LambdaVersion must be V2_0")
    fn_lid, fn = t.functions["pre-token"]
    arn = ptg.get("LambdaArn")
    fn_name = (fn.get("Properties") or {}).get("FunctionName")
    alias = (fn.get("Properties") or {}).get("AutoPublishAlias")
    by_name = (
        isinstance(arn, dict) and isinstance(fn_name, dict)
        and isinstance(arn.get("Fn::Sub"), str) and isinstance(fn_name.get("Fn::Sub"), str)
        and arn["Fn::Sub"].endswith(":function:%s:%s" % (fn_name["Fn::Sub"], alias))
    )
    if not (is_alias(arn, fn_lid) or by_name):
        problems.append(f"{pool_id}: PreTokenGenerationConfig.LambdaArn must be the pre-token function's alias {alias!r}")
    cp = client.get("Properties") or {}
    if cp.get("EnableTokenRevocation") is not True:
        problems.append(f"{client_id}: EnableTokenRevocation must be true")
    flows = set(cp.get("ExplicitAuthFlows") or [])
    if not {"ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"} <= flows:
        problems.append(f"{client_id}: ExplicitAuthFlows must allow USER_PASSWORD and REFRESH_TOKEN")
    perm_ok = False
    for pid, r in t.resources.items():
        p = r.get("Properties") or {}
        if r.get("Type") == "AWS::Lambda::Permission" and p.get("Principal") == "cognito-idp.amazonaws.com":
            if is_alias(p.get("FunctionName"), fn_lid) and any(
                is_getatt(b, pool_id) or "userpool/" in " ".join(strings_in(b)) for b in branches(p.get("SourceArn"))
            ):
                perm_ok = True
    if not perm_ok:
        problems.append("no AWS::Lambda::Permission lets cognito-idp invoke the trigger with SourceArn = the pool")


def check_outputs(t, problems):
    outputs = set((t.t.get("Outputs") or {}))
    missing = {"ApiUrl", "PreTokenFunctionArn", "AuthorizerFunctionArn", "TableName", "UserPoolId"} - outputs
    if missing:
        problems.append(f"missing outputs {sorted(missing)}")
    table_name = ((t.t.get("Outputs") or {}).get("TableName") or {}).get("Value")
    if "TableName" in outputs and not t.is_table_name(table_name):
        problems.append("output TableName must name the table in use (plain, global or ExistingTableName)")


def test_demo_pool_v2_trigger_essentials_revocation_invoke_permission(template):
    assert_no_problems(check_demo_pool, template)


def test_outputs_api_functions_table_pool(template):
    assert_no_problems(check_outputs, template)
