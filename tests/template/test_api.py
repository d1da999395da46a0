"""Routes of the HTTP API: which function serves each, its authorization, the authorizer's wiring."""

import pytest
from conftest import assert_no_problems
from model import EXPECTED_ROUTES

from cfn import is_alias, names_function, ref_name, refs_in

def check_route(t, problems, method, path):
    want_binary, want_auth = EXPECTED_ROUTES[(method, path)]
    found = t.routes().get((method, path), [])
    if len(found) != 1:
        problems.append(f"expected one HttpApi event for {method} {path}, found {len(found)}")
        return
    binary, lid, ev_name, p = found[0]
    if binary != want_binary:
        problems.append(f"{method} {path} goes to {binary}, expected {want_binary}")
    api_id, api = t.http_api(p.get("ApiId"))
    if not api or api.get("Type") != "AWS::Serverless::HttpApi":
        problems.append(f"{lid}.{ev_name}: ApiId must be !Ref of an AWS::Serverless::HttpApi")
        return
    api_auth = (api.get("Properties") or {}).get("Auth") or {}
    authorizer = ((p.get("Auth") or {}).get("Authorizer")) or api_auth.get("DefaultAuthorizer")
    if authorizer == "NONE":
        authorizer = None
    if want_auth is None:
        if authorizer not in (None,):
            problems.append(f"{method} {path}: expected no API Gateway authorizer, found {authorizer!r}")
    elif want_auth == "AWS_IAM":
        if authorizer != "AWS_IAM":
            problems.append(f"{method} {path}: must use AWS_IAM, found {authorizer!r}")
        if api_auth.get("EnableIamAuthorizer") is not True:
            problems.append(f"{api_id}: Auth.EnableIamAuthorizer must be true")
    else:
        check_lambda_authorizer(t, problems, api_id, api_auth, authorizer, method, path)


def check_lambda_authorizer(t, problems, api_id, api_auth, name, method, path):
    auth = (api_auth.get("Authorizers") or {}).get(name) if name else None
    if not auth:
        problems.append(f"{method} {path}: must use the Lambda authorizer, found {name!r}")
        return
    lid, _ = t.functions.get("authorizer", (None, None))
    if not is_alias(auth.get("FunctionArn"), lid):
        problems.append(f"{api_id}.{name}: FunctionArn must be !Ref {lid}.Alias (the alias CodeDeploy shifts)")
    if str(auth.get("AuthorizerPayloadFormatVersion")) != "2.0":
        problems.append(f"{api_id}.{name}: AuthorizerPayloadFormatVersion must be 2.0")
    if auth.get("EnableSimpleResponses") is not True:
        problems.append(f"{api_id}.{name}: EnableSimpleResponses must be true")
    identity = auth.get("Identity") or {}
    if identity.get("Headers") != ["Authorization"]:
        problems.append(f"{api_id}.{name}: Identity.Headers must be [Authorization]")
    ttl = identity.get("ReauthorizeEvery")
    if ref_name(ttl) != "AuthorizerCacheSeconds":
        problems.append(f"{api_id}.{name}: ReauthorizeEvery must be !Ref AuthorizerCacheSeconds")
    elif str((t.parameters.get("AuthorizerCacheSeconds") or {}).get("Default")) != "0":
        problems.append("parameter AuthorizerCacheSeconds must default to 0")
    # API Gateway must be allowed to invoke the authorizer, and only from this API.
    allowed = auth.get("FunctionInvokeRole") or auth.get("EnableFunctionDefaultPermissions") is True
    for pid, res in t.resources.items():
        if res.get("Type") != "AWS::Lambda::Permission":
            continue
        pp = res.get("Properties") or {}
        if pp.get("Principal") != "apigateway.amazonaws.com":
            continue
        if not names_function(pp.get("FunctionName"), lid):
            continue
        if not is_alias(pp.get("FunctionName"), lid):
            # API Gateway calls the alias ARN: a grant on the function itself does not cover it.
            problems.append(f"{pid}: FunctionName must be !Ref {lid}.Alias, the ARN API Gateway invokes")
            continue
        source = pp.get("SourceArn")
        if not source or api_id not in set(refs_in(source)):
            problems.append(f"{pid}: SourceArn must name the API ({api_id})")
        else:
            allowed = True
    if not allowed:
        problems.append(f"no AWS::Lambda::Permission (or FunctionInvokeRole) lets API Gateway invoke {lid}")


def check_no_unexpected_routes(t, problems):
    for key, found in t.routes().items():
        if key not in EXPECTED_ROUTES:
            problems.append(f"unexpected route {key[0]} {key[1]} on {found[0][0]}")


@pytest.mark.parametrize("method,path", sorted(EXPECTED_ROUTES))
def test_route_function_and_authorization(template, method, path):
    assert_no_problems(check_route, template, method, path)


def test_no_routes_beyond_the_documented_ones(template):
    assert_no_problems(check_no_unexpected_routes, template)
