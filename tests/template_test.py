#!/usr/bin/env python3
"""Static checks of template.yaml: least privilege, route authorization, the
table's protections, log retention and secret handling; then the template as
deployed with given parameter values (the revocation table in one or several
Regions): the offline SAM transform (aws-sam-translator), conditions evaluated,
parameters substituted.

Plain Python (stdlib + PyYAML, which cfn-lint brings, and aws-sam-translator,
which the SAM CLI brings), no pytest; run it with the deploy venv's python:

    .venv-deploy/bin/python tests/template_test.py [path/to/template.yaml]

Prints each failed check with its problems, then `N passed, M failed` as the
last line; exits 1 when any check fails. `Fn::If` is checked on both branches.
"""

import copy
import logging
import os
import re
import sys

try:
    import yaml
except ImportError:  # pragma: no cover - environment problem, not a template problem
    print("PyYAML is required: pip install -r tools/requirements-deploy.txt (cfn-lint brings it)")
    print("0 passed, 1 failed")
    sys.exit(1)

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_TEMPLATE = os.path.join(HERE, os.pardir, "template.yaml")

# ------------------------------------------------------------------ YAML loading


class CfnLoader(yaml.SafeLoader):
    """SafeLoader that turns every CloudFormation short-form tag into its long form."""


def _construct_tag(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "Condition":
        return {"Condition": value}
    if suffix == "GetAtt" and isinstance(value, str):
        resource, _, attribute = value.partition(".")
        return {"Fn::GetAtt": [resource, attribute]}
    return {"Fn::" + suffix: value}


CfnLoader.add_multi_constructor("!", _construct_tag)


def load(path):
    with open(path, encoding="utf-8") as f:
        return yaml.load(f, Loader=CfnLoader)


# ------------------------------------------------------------------ helpers

NO_VALUE = {"Ref": "AWS::NoValue"}


def branches(value):
    """Every value `value` can take, expanding Fn::If both ways (AWS::NoValue dropped)."""
    if isinstance(value, dict) and set(value) == {"Fn::If"}:
        _, yes, no = value["Fn::If"]
        return [v for b in (yes, no) for v in branches(b)]
    if value == NO_VALUE:
        return []
    return [value]


def as_list(value):
    out = []
    for v in branches(value):
        if isinstance(v, list):
            for item in v:
                out.extend(branches(item))
        else:
            out.append(v)
    return out


def strings_in(value):
    """All literal strings inside a value (Sub templates included)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for v in value:
            yield from strings_in(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from strings_in(v)


def refs_in(value):
    """Logical ids and parameter names a value refers to (Ref, GetAtt, ${} in Sub)."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "Ref" and isinstance(v, str):
                yield v
            elif k == "Fn::GetAtt":
                yield v[0] if isinstance(v, list) else str(v).split(".")[0]
            elif k == "Fn::Sub":
                template = v[0] if isinstance(v, list) else v
                local = set(v[1]) if isinstance(v, list) and len(v) > 1 else set()
                for name in re.findall(r"\$\{([^}!]+)\}", template):
                    name = name.split(".")[0]
                    if name not in local:
                        yield name
                if isinstance(v, list) and len(v) > 1:
                    yield from refs_in(v[1])
            else:
                yield from refs_in(v)
    elif isinstance(value, list):
        for v in value:
            yield from refs_in(v)


def is_getatt(value, logical_id, attribute="Arn"):
    if not isinstance(value, dict):
        return False
    if value.get("Fn::GetAtt") == [logical_id, attribute]:
        return True
    return value.get("Fn::Sub") == "${%s.%s}" % (logical_id, attribute)


def ref_name(value):
    return value.get("Ref") if isinstance(value, dict) and len(value) == 1 else None


# ------------------------------------------------------------------ expectations

# binary -> the only actions its role may hold (logs on its own log group come on top).
EXPECTED_ACTIONS = {
    "authorizer": {"dynamodb:BatchGetItem"},
    "pre-token": {"dynamodb:BatchGetItem"},
    "signout-api": {
        "dynamodb:BatchGetItem",
        "dynamodb:UpdateItem",
        "dynamodb:GetItem",
        "cognito-idp:AdminGetUser",
        "cognito-idp:AdminUserGlobalSignOut",
        "secretsmanager:GetSecretValue",
    },
    "logout": {
        "dynamodb:UpdateItem",
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "secretsmanager:GetSecretValue",
    },
}
LOG_ACTIONS = {"logs:CreateLogStream", "logs:PutLogEvents"}
# binary -> the secret ARN parameters it may read.
EXPECTED_SECRETS = {
    "authorizer": set(),
    "pre-token": set(),
    "signout-api": {"ClientSecretsArn"},
    "logout": {"ClientSecretsArn", "LogoutStateKeyArn"},
}
# binary -> environment variables it must receive (besides the global ones).
EXPECTED_ENV = {
    "authorizer": {"AUTHORIZER_FAIL_OPEN", "REVOCATION_CACHE_MS", "AUTHORIZER_RESPONSE_MODE"},
    "pre-token": {"SDK_OPERATION_TIMEOUT_MS"},
    "signout-api": {"APP_CLIENT_SECRETS_ARN"},
    "logout": {
        "COGNITO_DOMAIN",
        "LOGOUT_URLS",
        "LOGOUT_CALLBACK_URL",
        "LOGOUT_STATE_KEY_ARN",
        "APP_CLIENT_SECRETS_ARN",
    },
}
GLOBAL_ENV = {
    "USER_POOL_ID",
    "SIGNOUT_TABLE",
    "SIGNOUT_REGIONS",
    "APP_CLIENT_IDS",
    "MAX_TOKEN_LIFETIME_SECONDS",
}
MAX_TIMEOUT = {"authorizer": 5, "pre-token": 5, "signout-api": 10, "logout": 10}
# (method, path) -> (binary, authorization: None | "AWS_IAM" | "LAMBDA")
EXPECTED_ROUTES = {
    ("POST", "/signout"): ("signout-api", None),
    ("POST", "/revoke"): ("signout-api", None),
    ("POST", "/introspect"): ("signout-api", "AWS_IAM"),
    ("GET", "/session"): ("signout-api", "LAMBDA"),
    ("POST", "/admin/users/{username}/signout"): ("signout-api", "AWS_IAM"),
    ("POST", "/admin/clients/{client_id}/signout"): ("signout-api", "AWS_IAM"),
    ("POST", "/admin/signout-all"): ("signout-api", "AWS_IAM"),
    ("GET", "/logout"): ("logout", None),
    ("GET", "/logout/callback"): ("logout", None),
}
SECRET_LIKE = re.compile(r"secret|password|passwd|privatekey|signingkey|statekey|hmac|apikey|credential", re.I)
ARN_PATTERN_PREFIX = "arn:aws"


# The revocation table in several Regions: the template as deployed with these
# parameter values. (name, stack Region, parameters, table: "plain" | "global" |
# the existing name, global table replicas in order, SIGNOUT_REGIONS as read).
REGION_SCENARIOS = [
    ("one Region, defaults", "us-east-1", {}, "plain", None, ["us-east-1"]),
    (
        "primary Region with two replica Regions",
        "us-east-1",
        {"ReplicaRegions": "eu-west-1,ap-southeast-2"},
        "global",
        ["us-east-1", "eu-west-1", "ap-southeast-2"],
        ["us-east-1", "eu-west-1", "ap-southeast-2"],
    ),
    (
        "primary Region with the three replica slots used",
        "eu-central-1",
        {"ReplicaRegions": "us-east-1,ap-southeast-2,us-west-2"},
        "global",
        ["eu-central-1", "us-east-1", "ap-southeast-2", "us-west-2"],
        ["eu-central-1", "us-east-1", "ap-southeast-2", "us-west-2"],
    ),
    (
        "own Region and a repeat in ReplicaRegions add no replica",
        "us-east-1",
        {"ReplicaRegions": "us-east-1,eu-west-1,eu-west-1"},
        "global",
        ["us-east-1", "eu-west-1"],
        ["us-east-1", "eu-west-1"],
    ),
    (
        "a repeat and own Region in ReplicaRegions add no replica",
        "us-east-1",
        {"ReplicaRegions": "eu-west-1,eu-west-1,us-east-1"},
        "global",
        ["us-east-1", "eu-west-1"],
        ["us-east-1", "eu-west-1"],
    ),
    (
        "the first Region repeated last adds no replica",
        "us-east-1",
        {"ReplicaRegions": "eu-west-1,ap-southeast-2,eu-west-1"},
        "global",
        ["us-east-1", "eu-west-1", "ap-southeast-2"],
        ["us-east-1", "eu-west-1", "ap-southeast-2"],
    ),
    ("ReplicaRegions naming only this Region", "us-east-1", {"ReplicaRegions": "us-east-1"}, "plain", None, ["us-east-1"]),
    (
        "replica Region stack on the global table (ExistingTableName)",
        "eu-west-1",
        {"ExistingTableName": "cognito-signout-SignoutGlobalTable-1A2B3C4D", "ReplicaRegions": "us-east-1,ap-southeast-2"},
        "cognito-signout-SignoutGlobalTable-1A2B3C4D",
        None,
        ["eu-west-1", "us-east-1", "ap-southeast-2"],
    ),
    (
        "existing table, one Region",
        "us-east-1",
        {"ExistingTableName": "signout-revocations"},
        "signout-revocations",
        None,
        ["us-east-1"],
    ),
]
# (parameter, values it must accept, values it must reject)
PARAMETER_SAMPLES = [
    (
        "ReplicaRegions",
        ["", "eu-west-1", "eu-west-1,ap-southeast-2", "us-gov-west-1,ap-southeast-2,il-central-1"],
        ["eu-west-1,ap-southeast-2,us-west-2,ca-central-1", "eu-west-1, ap-southeast-2", "eu-west-1,", "EU-WEST-1"],
    ),
    ("ExistingTableName", ["", "signout-revocations", "a.b_c-1"], ["ab", "table/name", "x" * 256]),
]
PSEUDO = {
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::StackName": "cognito-signout",
    "AWS::URLSuffix": "amazonaws.com",
}
# Parameters without a default, as a deployment gives them.
REQUIRED_PARAMETERS = {
    "LogoutStateKeyArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:signout/logout-state-key-AbCdEf",
}


def parse_regions(value):
    """SIGNOUT_REGIONS as the functions read it: a comma list, empty entries and repeats ignored."""
    out = []
    for part in value.split(","):
        part = part.strip()
        if part and part not in out:
            out.append(part)
    return out


def parameter_problem(name, param, value):
    """Why CloudFormation would refuse `value` for `param`, or None."""
    pattern = param.get("AllowedPattern")
    if pattern is not None and not re.fullmatch(str(pattern), value):
        return f"{name}={value!r} does not match {pattern}"
    allowed = param.get("AllowedValues")
    if allowed is not None and value not in [str(a) for a in allowed]:
        return f"{name}={value!r} is not one of {allowed}"
    return None


class _NoManagedPolicies:
    """The translator's managed policy loader, offline: the template names no managed policy."""

    def load(self):
        return {}


def sam_transform(template, parameters, region):
    """The offline SAM transform (aws-sam-translator) of `template` with these parameter values."""
    os.environ.setdefault("AWS_DEFAULT_REGION", region)  # the translator asks boto3 for a Region
    try:
        from samtranslator.translator.transform import transform
    except ImportError:
        raise RuntimeError("aws-sam-translator is required: run with .venv-deploy/bin/python (make venv-deploy)")

    # The translator records usage metrics and warns when nobody publishes them.
    logging.getLogger("samtranslator.metrics").setLevel(logging.ERROR)

    sam = copy.deepcopy(template)
    for res in (sam.get("Resources") or {}).values():
        if res.get("Type") == "AWS::Serverless::Function":
            # As after `sam package`: the translator wants an S3 location, not a build directory.
            res.setdefault("Properties", {})["CodeUri"] = "s3://example-bucket/code.zip"
    values = {**REQUIRED_PARAMETERS, **parameters, "AWS::Region": region}
    return transform(sam, values, _NoManagedPolicies())


class Unresolved(Exception):
    """A value that depends on a resource, known only once deployed."""


class Deployed:
    """What CloudFormation makes of a transformed template with given parameter values:
    conditions evaluated, resources and outputs whose condition is false dropped, Fn::If
    branches chosen, AWS::NoValue removed, parameters and pseudo parameters substituted.
    References to resources stay as they are."""

    def __init__(self, template, parameters, region):
        params = template.get("Parameters") or {}
        self.values = {}
        for name, p in params.items():
            if "Default" in p:
                self.values[name] = str(p["Default"])
        for name, value in {**REQUIRED_PARAMETERS, **parameters}.items():
            if name not in params:
                raise ValueError(f"unknown parameter {name}")
            problem = parameter_problem(name, params[name], value)
            if problem:
                raise ValueError(problem)
            self.values[name] = value
        for name, p in params.items():
            if name not in self.values:
                raise ValueError(f"parameter {name} has no value")
            if p.get("Type") == "CommaDelimitedList":
                self.values[name] = [v.strip() for v in self.values[name].split(",")]
        self.values.update(PSEUDO)
        self.values["AWS::Region"] = region
        self.condition_defs = template.get("Conditions") or {}
        self.conditions = {}
        self.resources = {
            lid: self.resolve(res)
            for lid, res in (template.get("Resources") or {}).items()
            if self.condition(res.get("Condition"))
        }
        self.outputs = {
            name: self.resolve(out)
            for name, out in (template.get("Outputs") or {}).items()
            if self.condition(out.get("Condition"))
        }

    def condition(self, name):
        if name is None:
            return True
        if name not in self.conditions:
            self.conditions[name] = self.truth(self.condition_defs[name])
        return self.conditions[name]

    def truth(self, expr):
        (fn, args), = expr.items()
        if fn == "Condition":
            return self.condition(args)
        if fn == "Fn::Equals":
            return self.value(args[0]) == self.value(args[1])
        if fn == "Fn::And":
            return all(self.truth(a) for a in args)
        if fn == "Fn::Or":
            return any(self.truth(a) for a in args)
        if fn == "Fn::Not":
            return not self.truth(args[0])
        raise ValueError(f"unknown condition function {fn}")

    def sub(self, template, local, partial):
        def one(m):
            name = m.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in local:
                try:
                    return str(self.value(local[name]))
                except Unresolved:
                    if partial:
                        return m.group(0)
                    raise
            if name in self.values:
                return str(self.values[name])
            if partial:
                return m.group(0)
            raise Unresolved(name)

        return re.sub(r"\$\{([^}]+)\}", one, template)

    def value(self, v):
        """The value of `v` once deployed; Unresolved when it depends on a resource."""
        if isinstance(v, list):
            return [x for x in (self.value(i) for i in v) if x is not NO_VALUE]
        if not isinstance(v, dict):
            return v
        if len(v) == 1:
            (fn, args), = v.items()
            if fn == "Ref":
                if args == "AWS::NoValue":
                    return NO_VALUE
                if args in self.values:
                    return self.values[args]
                raise Unresolved(args)
            if fn == "Fn::GetAtt":
                raise Unresolved(str(args))
            if fn == "Fn::If":
                return self.value(args[1] if self.condition(args[0]) else args[2])
            if fn == "Fn::Sub":
                template, local = (args[0], args[1]) if isinstance(args, list) else (args, {})
                return self.sub(template, local, partial=False)
            if fn == "Fn::Select":
                items = self.value(args[1])
                index = int(self.value(args[0]))
                if not 0 <= index < len(items):
                    raise ValueError(f"Fn::Select index {index} outside {items!r} (CloudFormation fails)")
                return items[index]
            if fn == "Fn::Split":
                return self.value(args[1]).split(self.value(args[0]))
            if fn == "Fn::Join":
                return self.value(args[0]).join(self.value(args[1]))
        out = {k: self.value(x) for k, x in v.items()}
        return {k: x for k, x in out.items() if x is not NO_VALUE}

    def resolve(self, v):
        """`v` with everything known at deploy time substituted."""
        try:
            return self.value(v)
        except Unresolved:
            pass
        if isinstance(v, list):
            return [x for x in (self.resolve(i) for i in v) if x is not NO_VALUE]
        if set(v) == {"Fn::If"}:
            c, yes, no = v["Fn::If"]
            return self.resolve(yes if self.condition(c) else no)
        if set(v) == {"Fn::Sub"}:
            args = v["Fn::Sub"]
            template, local = (args[0], args[1]) if isinstance(args, list) else (args, {})
            template = self.sub(template, local, partial=True)
            local = {k: self.resolve(x) for k, x in local.items() if "${%s}" % k in template}
            return {"Fn::Sub": [template, local] if local else template}
        out = {k: self.resolve(x) for k, x in v.items()}
        return {k: x for k, x in out.items() if x is not NO_VALUE}


def render(value):
    """A resolved value as text: references to resources shown as <LogicalId>."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and ref_name(value):
        return "<%s>" % ref_name(value)
    if isinstance(value, dict) and set(value) == {"Fn::Sub"}:
        args = value["Fn::Sub"]
        template, local = (args[0], args[1]) if isinstance(args, list) else (args, {})
        return re.sub(
            r"\$\{([^}!]+)\}", lambda m: render(local[m.group(1)]) if m.group(1) in local else "<%s>" % m.group(1), template
        )
    return repr(value)


def table_key_problems(res):
    p = res.get("Properties") or {}
    out = []
    if p.get("KeySchema") != [{"AttributeName": "pk", "KeyType": "HASH"}]:
        out.append("KeySchema must be pk (HASH) only")
    if {"AttributeName": "pk", "AttributeType": "S"} not in (p.get("AttributeDefinitions") or []):
        out.append("pk must be a string attribute")
    if p.get("BillingMode") != "PAY_PER_REQUEST":
        out.append("BillingMode must be PAY_PER_REQUEST")
    return out


def table_ttl_problems(res):
    ttl = (res.get("Properties") or {}).get("TimeToLiveSpecification") or {}
    if ttl.get("AttributeName") != "expires_at" or ttl.get("Enabled") is not True:
        return ["TimeToLiveSpecification must be enabled on expires_at"]
    return []


def table_sse_problems(res):
    sse = (res.get("Properties") or {}).get("SSESpecification") or {}
    if sse.get("SSEEnabled") is not True:
        return ["SSESpecification.SSEEnabled must be true"]
    return []


def replicas_of(res):
    """Every replica a global table can have (each conditional slot taken), or None for a plain table."""
    if res.get("Type") != "AWS::DynamoDB::GlobalTable":
        return None
    return as_list((res.get("Properties") or {}).get("Replicas") or [])


def table_pitr_problems(res):
    replicas = replicas_of(res)
    specs = [res.get("Properties") or {}] if replicas is None else replicas
    if not specs:
        return ["no replicas"]
    for spec in specs:
        pitr = spec.get("PointInTimeRecoverySpecification") or {}
        if pitr.get("PointInTimeRecoveryEnabled") is not True:
            where = "" if replicas is None else f"replica {spec.get('Region')!r}: "
            return [f"{where}PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled must be true"]
    return []


def table_deletion_protection_problems(res):
    replicas = replicas_of(res)
    specs = [res.get("Properties") or {}] if replicas is None else replicas
    if not specs:
        return ["no replicas"]
    for spec in specs:
        if spec.get("DeletionProtectionEnabled") is not True:
            where = "" if replicas is None else f"replica {spec.get('Region')!r}: "
            return [f"{where}DeletionProtectionEnabled must be true"]
    return []


# ------------------------------------------------------------------ the checks


class Checks:
    def __init__(self, template):
        self.t = template
        self.resources = template.get("Resources") or {}
        self.parameters = template.get("Parameters") or {}
        self.globals = ((template.get("Globals") or {}).get("Function")) or {}
        self.passed = 0
        self.failed = 0
        self.functions = {}  # binary -> (logical id, resource)
        for lid, res in self.resources.items():
            if res.get("Type") == "AWS::Serverless::Function":
                binary = ((res.get("Metadata") or {}).get("BuildProperties") or {}).get("Binary")
                self.functions[binary or lid] = (lid, res)
        tables = [lid for lid, r in self.resources.items() if r.get("Type") == "AWS::DynamoDB::Table"]
        self.table = tables[0] if len(tables) == 1 else None
        global_tables = [lid for lid, r in self.resources.items() if r.get("Type") == "AWS::DynamoDB::GlobalTable"]
        self.global_table = global_tables[0] if len(global_tables) == 1 else None

    def run(self, name, fn, *args):
        problems = []
        try:
            fn(problems, *args)
        except Exception as e:  # a malformed template is a failure, not a crash
            problems.append(f"could not check: {type(e).__name__}: {e}")
        if problems:
            self.failed += 1
            print(f"FAIL {name}")
            for p in problems:
                print(f"  - {p}")
        else:
            self.passed += 1
            print(f"ok   {name}")

    # -------------------------------------------------------------- structure

    def check_transform(self, problems):
        transform = self.t.get("Transform")
        transforms = transform if isinstance(transform, list) else [transform]
        if "AWS::Serverless-2016-10-31" not in transforms:
            problems.append("Transform AWS::Serverless-2016-10-31 is missing")
        if self.table is None:
            problems.append("expected exactly one AWS::DynamoDB::Table")
        if self.global_table is None:
            problems.append("expected exactly one AWS::DynamoDB::GlobalTable (used with ReplicaRegions)")
        missing = set(EXPECTED_ACTIONS) - set(self.functions)
        if missing:
            problems.append(f"functions missing (by BuildProperties.Binary): {sorted(missing)}")

    def prop(self, res, key):
        """A function property, falling back to Globals.Function."""
        props = res.get("Properties") or {}
        return props[key] if key in props else self.globals.get(key)

    def check_function_build(self, problems, binary):
        lid, res = self.functions[binary]
        meta = res.get("Metadata") or {}
        if meta.get("BuildMethod") != "rust-cargolambda":
            problems.append(f"{lid}: Metadata.BuildMethod must be rust-cargolambda")
        if (meta.get("BuildProperties") or {}).get("Binary") != binary:
            problems.append(f"{lid}: Metadata.BuildProperties.Binary must be {binary}")
        if (res.get("Properties") or {}).get("CodeUri", self.globals.get("CodeUri")) not in (".", "./"):
            problems.append(f"{lid}: CodeUri must be the workspace root (.)")
        if self.prop(res, "Runtime") != "provided.al2023":
            problems.append(f"{lid}: Runtime must be provided.al2023")
        if self.prop(res, "Handler") != "bootstrap":
            problems.append(f"{lid}: Handler must be bootstrap")
        arch = self.prop(res, "Architectures")
        if arch != [{"Ref": "Architecture"}]:
            problems.append(f"{lid}: Architectures must be [!Ref Architecture]")
        param = self.parameters.get("Architecture") or {}
        if param.get("Default") != "arm64" or set(param.get("AllowedValues") or []) != {"arm64", "x86_64"}:
            problems.append("parameter Architecture must default to arm64 and allow arm64, x86_64")
        timeout = self.prop(res, "Timeout")
        if not isinstance(timeout, int) or timeout > MAX_TIMEOUT[binary]:
            problems.append(f"{lid}: Timeout must be a number at most {MAX_TIMEOUT[binary]} s (is {timeout!r})")

    # -------------------------------------------------------------- IAM

    def statements_of(self, binary, problems):
        """(statement, source) for every statement that applies to the function's role."""
        lid, res = self.functions[binary]
        props = res.get("Properties") or {}
        out = []
        role = props.get("Role")
        if role is not None:
            role_id = None
            if isinstance(role, dict) and "Fn::GetAtt" in role:
                role_id = role["Fn::GetAtt"][0]
            role_res = self.resources.get(role_id) if role_id else None
            if not role_res or role_res.get("Type") != "AWS::IAM::Role":
                problems.append(f"{lid}: Role must be !GetAtt <an AWS::IAM::Role of this template>.Arn")
                return out
            rp = role_res.get("Properties") or {}
            for arn in as_list(rp.get("ManagedPolicyArns") or []):
                problems.append(f"{role_id}: managed policy attached ({arn!r}); use inline statements")
            users = [b for b, (_, r) in self.functions.items()
                     if ((r.get("Properties") or {}).get("Role") or {}) == role]
            if len(users) > 1:
                problems.append(f"{role_id}: shared by {sorted(users)}; one role per function")
            for pol in as_list(rp.get("Policies") or []):
                doc = pol.get("PolicyDocument") or {}
                for st in as_list(doc.get("Statement") or []):
                    out.append((st, role_id))
            # Policies attached from outside the role.
            for pid, p in self.resources.items():
                if p.get("Type") in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy"):
                    pp = p.get("Properties") or {}
                    targets = as_list(pp.get("Roles") or []) + as_list(pp.get("RoleName") or [])
                    if any(ref_name(x) == role_id for x in targets):
                        for st in as_list((pp.get("PolicyDocument") or {}).get("Statement") or []):
                            out.append((st, pid))
        else:
            for pol in as_list(props.get("Policies") or []):
                if isinstance(pol, str):
                    problems.append(f"{lid}: managed policy {pol!r}; use inline statements")
                elif isinstance(pol, dict) and "Statement" in pol:
                    for st in as_list(pol["Statement"]):
                        out.append((st, lid))
                else:
                    problems.append(f"{lid}: policy template {list(pol)!r}; use inline statements")
        return out

    def is_table_name(self, value):
        """The table in use: each Fn::If branch is a Ref to the plain table, the global
        table or ExistingTableName, and all three occur (so it works in every case)."""
        want = {self.table, self.global_table, "ExistingTableName"}
        found = {ref_name(b) for b in branches(value)}
        return found == want

    def is_table_arn(self, value):
        """The ARN of the table in use in the stack's own Region (its local replica)."""
        sub = value.get("Fn::Sub") if isinstance(value, dict) else None
        if not (isinstance(sub, list) and len(sub) == 2 and isinstance(sub[0], str) and isinstance(sub[1], dict)):
            return False
        m = re.fullmatch(
            r"arn:\$\{AWS::Partition\}:dynamodb:\$\{AWS::Region\}:\$\{AWS::AccountId\}:table/\$\{(\w+)\}", sub[0]
        )
        return bool(m) and self.is_table_name(sub[1].get(m.group(1)))

    def resource_ok(self, action, resource, binary, problems, where):
        service = action.split(":")[0]
        log_group = self.log_group_of(binary)
        for r in branches(resource):
            if any("*" in s for s in strings_in(r)):
                problems.append(f"{where}: {action} on a wildcard resource {r!r}")
                continue
            if service == "dynamodb":
                if not self.is_table_arn(r):
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
            elif service == "logs":
                if not (log_group and is_getatt(r, log_group)):
                    problems.append(f"{where}: {action} must be scoped to the function's own log group")
            else:
                problems.append(f"{where}: unexpected service in {action}")

    def check_iam(self, problems, binary):
        statements = self.statements_of(binary, problems)
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
                    self.resource_ok(a, r, binary, problems, where)
                    if a.startswith("secretsmanager:") and ref_name(r):
                        secrets.add(ref_name(r))
        expected = EXPECTED_ACTIONS[binary]
        extra = actions - expected - LOG_ACTIONS
        missing = expected - actions
        if extra:
            problems.append(f"actions beyond {sorted(expected)}: {sorted(extra)}")
        if missing:
            problems.append(f"actions the function needs but lacks: {sorted(missing)}")
        if secrets != EXPECTED_SECRETS[binary]:
            problems.append(f"secrets readable: {sorted(secrets)}, expected {sorted(EXPECTED_SECRETS[binary])}")

    def check_no_broad_policies(self, problems):
        for lid, res in self.resources.items():
            props = res.get("Properties") or {}
            for arn in as_list(props.get("ManagedPolicyArns") or []):
                if "FullAccess" in " ".join(strings_in(arn)) or "AdministratorAccess" in " ".join(strings_in(arn)):
                    problems.append(f"{lid}: broad managed policy {arn!r}")
            for pol in as_list(props.get("Policies") or []):
                if isinstance(pol, str) and ("FullAccess" in pol or "Administrator" in pol):
                    problems.append(f"{lid}: broad managed policy {pol!r}")

    # -------------------------------------------------------------- routes

    def routes(self):
        out = {}
        for binary, (lid, res) in self.functions.items():
            for ev_name, ev in ((res.get("Properties") or {}).get("Events") or {}).items():
                if ev.get("Type") != "HttpApi":
                    continue
                p = ev.get("Properties") or {}
                key = (str(p.get("Method", "")).upper(), p.get("Path"))
                out.setdefault(key, []).append((binary, lid, ev_name, p))
        return out

    def http_api(self, api_ref):
        api_id = ref_name(api_ref)
        api = self.resources.get(api_id) if api_id else None
        return api_id, api

    def check_route(self, problems, method, path):
        want_binary, want_auth = EXPECTED_ROUTES[(method, path)]
        found = self.routes().get((method, path), [])
        if len(found) != 1:
            problems.append(f"expected one HttpApi event for {method} {path}, found {len(found)}")
            return
        binary, lid, ev_name, p = found[0]
        if binary != want_binary:
            problems.append(f"{method} {path} goes to {binary}, expected {want_binary}")
        api_id, api = self.http_api(p.get("ApiId"))
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
            self.check_lambda_authorizer(problems, api_id, api_auth, authorizer, method, path)

    def check_lambda_authorizer(self, problems, api_id, api_auth, name, method, path):
        auth = (api_auth.get("Authorizers") or {}).get(name) if name else None
        if not auth:
            problems.append(f"{method} {path}: must use the Lambda authorizer, found {name!r}")
            return
        lid, _ = self.functions.get("authorizer", (None, None))
        if not is_getatt(auth.get("FunctionArn"), lid):
            problems.append(f"{api_id}.{name}: FunctionArn must be !GetAtt {lid}.Arn")
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
        elif str((self.parameters.get("AuthorizerCacheSeconds") or {}).get("Default")) != "0":
            problems.append("parameter AuthorizerCacheSeconds must default to 0")
        # API Gateway must be allowed to invoke the authorizer, and only from this API.
        allowed = auth.get("FunctionInvokeRole") or auth.get("EnableFunctionDefaultPermissions") is True
        for pid, res in self.resources.items():
            if res.get("Type") != "AWS::Lambda::Permission":
                continue
            pp = res.get("Properties") or {}
            if pp.get("Principal") != "apigateway.amazonaws.com":
                continue
            if lid not in set(refs_in(pp.get("FunctionName"))):
                continue
            source = pp.get("SourceArn")
            if not source or api_id not in set(refs_in(source)):
                problems.append(f"{pid}: SourceArn must name the API ({api_id})")
            else:
                allowed = True
        if not allowed:
            problems.append(f"no AWS::Lambda::Permission (or FunctionInvokeRole) lets API Gateway invoke {lid}")

    def check_no_unexpected_routes(self, problems):
        for key, found in self.routes().items():
            if key not in EXPECTED_ROUTES:
                problems.append(f"unexpected route {key[0]} {key[1]} on {found[0][0]}")

    # -------------------------------------------------------------- table

    def tables(self):
        """(logical id, resource) of the plain table and of the global table."""
        return [(lid, self.resources.get(lid) or {}) for lid in (self.table, self.global_table)]

    def check_table_key(self, problems):
        for lid, res in self.tables():
            problems.extend(f"{lid}: {p}" for p in table_key_problems(res))

    def check_table_ttl(self, problems):
        for lid, res in self.tables():
            problems.extend(f"{lid}: {p}" for p in table_ttl_problems(res))

    def check_table_pitr(self, problems):
        for lid, res in self.tables():
            problems.extend(f"{lid}: {p}" for p in table_pitr_problems(res))

    def check_table_deletion_protection(self, problems):
        for lid, res in self.tables():
            problems.extend(f"{lid}: {p}" for p in table_deletion_protection_problems(res))

    def check_table_sse(self, problems):
        for lid, res in self.tables():
            problems.extend(f"{lid}: {p}" for p in table_sse_problems(res))

    def check_table_retain(self, problems):
        for lid, res in self.tables():
            for k in ("DeletionPolicy", "UpdateReplacePolicy"):
                if res.get(k) != "Retain":
                    problems.append(f"{lid}: {k} must be Retain")

    def check_global_table_replicas(self, problems):
        res = self.resources.get(self.global_table) or {}
        p = res.get("Properties") or {}
        replicas = p.get("Replicas")
        if not isinstance(replicas, list) or not replicas:
            problems.append(f"{self.global_table}: Replicas must be a list")
            return
        if (replicas[0] or {}).get("Region") != {"Ref": "AWS::Region"}:
            problems.append(f"{self.global_table}: the first replica must be this stack's Region (!Ref AWS::Region)")
        # Every other replica is one slot of ReplicaRegions, present only under its condition.
        for i, slot in enumerate(replicas[1:], start=1):
            if not (isinstance(slot, dict) and set(slot) == {"Fn::If"} and slot["Fn::If"][2] == NO_VALUE):
                problems.append(f"{self.global_table}: replica {i} must be !If [<slot condition>, <replica>, !Ref AWS::NoValue]")
            elif "ReplicaRegions" not in set(refs_in(slot["Fn::If"][1].get("Region"))):
                problems.append(f"{self.global_table}: replica {i} must take its Region from ReplicaRegions")
        if (p.get("StreamSpecification") or {}).get("StreamViewType") != "NEW_AND_OLD_IMAGES":
            problems.append(
                f"{self.global_table}: StreamSpecification (required with several replicas, fixed afterwards) "
                "must be NEW_AND_OLD_IMAGES"
            )
        conds = self.t.get("Conditions") or {}
        for lid in (self.table, self.global_table):
            cond = (self.resources.get(lid) or {}).get("Condition")
            if cond not in conds:
                problems.append(f"{lid}: must be created under a condition (plain table, global table or neither)")

    # -------------------------------------------------------------- logs

    def log_group_of(self, binary):
        _, res = self.functions[binary]
        cfg = self.prop(res, "LoggingConfig") or {}
        local = ((res.get("Properties") or {}).get("LoggingConfig") or {})
        group = local.get("LogGroup", cfg.get("LogGroup"))
        return ref_name(group)

    def check_log_group(self, problems, binary):
        lid, res = self.functions[binary]
        group = self.log_group_of(binary)
        g = self.resources.get(group) if group else None
        if not g or g.get("Type") != "AWS::Logs::LogGroup":
            problems.append(f"{lid}: LoggingConfig.LogGroup must be !Ref of an AWS::Logs::LogGroup")
            return
        others = [b for b in self.functions if b != binary and self.log_group_of(b) == group]
        if others:
            problems.append(f"{group}: shared with {others}")
        retention = (g.get("Properties") or {}).get("RetentionInDays")
        if retention is None:
            problems.append(f"{group}: RetentionInDays is missing")
        elif ref_name(retention):
            param = self.parameters.get(ref_name(retention)) or {}
            if param.get("Default") is None:
                problems.append(f"{group}: retention parameter {ref_name(retention)} has no default")
        cfg = self.globals.get("LoggingConfig") or {}
        merged = {**cfg, **((res.get("Properties") or {}).get("LoggingConfig") or {})}
        if merged.get("LogFormat") != "JSON" or merged.get("ApplicationLogLevel") != "INFO":
            problems.append(f"{lid}: LoggingConfig must be LogFormat JSON, ApplicationLogLevel INFO")

    # -------------------------------------------------------------- environment and secrets

    def env_of(self, res):
        env = dict(((self.globals.get("Environment") or {}).get("Variables")) or {})
        env.update((((res.get("Properties") or {}).get("Environment") or {}).get("Variables")) or {})
        return env

    def check_env(self, problems, binary):
        lid, res = self.functions[binary]
        env = self.env_of(res)
        missing = (GLOBAL_ENV | EXPECTED_ENV[binary]) - set(env)
        if missing:
            problems.append(f"{lid}: missing environment variables {sorted(missing)}")
        if "SIGNOUT_TABLE" in env and not self.is_table_name(env["SIGNOUT_TABLE"]):
            problems.append(f"{lid}: SIGNOUT_TABLE must name the table in use (plain, global or ExistingTableName)")
        if "SIGNOUT_REGIONS" in env and not {"AWS::Region", "ReplicaRegions"} <= set(refs_in(env["SIGNOUT_REGIONS"])):
            problems.append(f"{lid}: SIGNOUT_REGIONS must list AWS::Region and ReplicaRegions")
        reserved = [k for k in env if k.startswith("AWS_") and not k.startswith("AWS_ENDPOINT_URL")]
        if reserved:
            problems.append(f"{lid}: sets reserved variables {reserved} (Lambda sets AWS_REGION itself)")
        for k in ("APP_CLIENT_SECRETS", "LOGOUT_STATE_KEY"):
            if k in env:
                problems.append(f"{lid}: {k} holds a secret value; pass {k}_ARN instead")

    def check_secret_parameters(self, problems):
        for name, p in self.parameters.items():
            if name.endswith("Arn") and SECRET_LIKE.search(name):
                # A reference, not a secret: it must only be able to hold an ARN.
                pattern = str(p.get("AllowedPattern", ""))
                if ARN_PATTERN_PREFIX not in pattern or "secretsmanager" not in pattern:
                    problems.append(f"parameter {name}: AllowedPattern must restrict it to a Secrets Manager ARN")
                if p.get("Default") not in (None, ""):
                    problems.append(f"parameter {name}: must not default to a value")
                continue
            if SECRET_LIKE.search(name):
                if "Default" in p:
                    problems.append(f"parameter {name} looks like a secret and has a default")
                problems.append(f"parameter {name} looks like a secret: pass a Secrets Manager ARN instead")
        no_echo = {n for n, p in self.parameters.items() if str(p.get("NoEcho", "")).lower() == "true"}
        for binary, (lid, res) in self.functions.items():
            for var, value in self.env_of(res).items():
                used = set(refs_in(value))
                if used & no_echo:
                    problems.append(f"{lid}: {var} receives NoEcho parameter(s) {sorted(used & no_echo)}")
                if any("{{resolve:secretsmanager" in s or "{{resolve:ssm-secure" in s for s in strings_in(value)):
                    problems.append(f"{lid}: {var} resolves a secret into an environment variable")

    def check_no_secret_resolution_anywhere(self, problems):
        for lid, res in self.resources.items():
            if res.get("Type") in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
                for s in strings_in(res):
                    if "{{resolve:secretsmanager" in s or "{{resolve:ssm-secure" in s:
                        problems.append(f"{lid}: dynamic secret reference in a function: {s[:60]}...")

    # -------------------------------------------------------------- demo pool

    def check_demo_pool(self, problems):
        conds = self.t.get("Conditions") or {}
        want = {"Fn::Equals": [{"Ref": "UserPoolId"}, ""]}
        if conds.get("CreateDemoPool") != want:
            problems.append("condition CreateDemoPool must be !Equals [!Ref UserPoolId, '']")
        pools = {lid: r for lid, r in self.resources.items() if r.get("Type") == "AWS::Cognito::UserPool"}
        clients = {lid: r for lid, r in self.resources.items() if r.get("Type") == "AWS::Cognito::UserPoolClient"}
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
        fn_lid, fn = self.functions["pre-token"]
        arn = ptg.get("LambdaArn")
        fn_name = (fn.get("Properties") or {}).get("FunctionName")
        by_name = (
            isinstance(arn, dict) and isinstance(fn_name, dict)
            and isinstance(arn.get("Fn::Sub"), str) and isinstance(fn_name.get("Fn::Sub"), str)
            and arn["Fn::Sub"].endswith(":function:" + fn_name["Fn::Sub"])
        )
        if not (is_getatt(arn, fn_lid) or by_name):
            problems.append(f"{pool_id}: PreTokenGenerationConfig.LambdaArn must be the pre-token function")
        cp = client.get("Properties") or {}
        if cp.get("EnableTokenRevocation") is not True:
            problems.append(f"{client_id}: EnableTokenRevocation must be true")
        flows = set(cp.get("ExplicitAuthFlows") or [])
        if not {"ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"} <= flows:
            problems.append(f"{client_id}: ExplicitAuthFlows must allow USER_PASSWORD and REFRESH_TOKEN")
        perm_ok = False
        for pid, r in self.resources.items():
            p = r.get("Properties") or {}
            if r.get("Type") == "AWS::Lambda::Permission" and p.get("Principal") == "cognito-idp.amazonaws.com":
                if fn_lid in set(refs_in(p.get("FunctionName"))) and any(
                    is_getatt(b, pool_id) or "userpool/" in " ".join(strings_in(b)) for b in branches(p.get("SourceArn"))
                ):
                    perm_ok = True
        if not perm_ok:
            problems.append("no AWS::Lambda::Permission lets cognito-idp invoke the trigger with SourceArn = the pool")

    def check_outputs(self, problems):
        outputs = set((self.t.get("Outputs") or {}))
        missing = {"ApiUrl", "PreTokenFunctionArn", "AuthorizerFunctionArn", "TableName", "UserPoolId"} - outputs
        if missing:
            problems.append(f"missing outputs {sorted(missing)}")
        table_name = ((self.t.get("Outputs") or {}).get("TableName") or {}).get("Value")
        if "TableName" in outputs and not self.is_table_name(table_name):
            problems.append("output TableName must name the table in use (plain, global or ExistingTableName)")

    # -------------------------------------------------------------- several Regions, as deployed

    def check_region_parameters(self, problems):
        for name, accepted, rejected in PARAMETER_SAMPLES:
            p = self.parameters.get(name)
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

    def check_deployed(self, problems, region, parameters, want_table, want_replicas, want_regions):
        d = Deployed(sam_transform(self.t, parameters, region), parameters, region)
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
        if len(functions) != len(EXPECTED_ACTIONS):
            problems.append(f"expected {len(EXPECTED_ACTIONS)} functions, got {sorted(functions)}")
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
                    if not any(str(a).startswith("dynamodb:") for a in actions):
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


def main(argv):
    path = argv[1] if len(argv) > 1 else DEFAULT_TEMPLATE
    try:
        template = load(path)
    except (OSError, yaml.YAMLError) as e:
        print(f"FAIL load {path}: {e}")
        print("0 passed, 1 failed")
        return 1
    c = Checks(template)
    c.run("template: SAM transform, one table, one global table, four functions", c.check_transform)
    if c.failed:
        print(f"{c.passed} passed, {c.failed} failed")
        return 1
    for binary in EXPECTED_ACTIONS:
        c.run(f"{binary}: build metadata, runtime, architecture, timeout", c.check_function_build, binary)
    for binary in EXPECTED_ACTIONS:
        c.run(f"{binary}: IAM actions and resources are least privilege", c.check_iam, binary)
    c.run("no broad managed policies anywhere", c.check_no_broad_policies)
    for method, path_ in EXPECTED_ROUTES:
        c.run(f"route {method} {path_}: function and authorization", c.check_route, method, path_)
    c.run("no routes beyond the documented ones", c.check_no_unexpected_routes)
    c.run("table: key pk, on-demand", c.check_table_key)
    c.run("table: TTL on expires_at", c.check_table_ttl)
    c.run("table: point-in-time recovery", c.check_table_pitr)
    c.run("table: server-side encryption", c.check_table_sse)
    c.run("table: retained on delete and replace", c.check_table_retain)
    c.run("table: deletion protection (every replica)", c.check_table_deletion_protection)
    c.run("global table: this Region first, one conditional slot per replica Region, stream", c.check_global_table_replicas)
    for binary in EXPECTED_ACTIONS:
        c.run(f"{binary}: own log group with retention", c.check_log_group, binary)
    for binary in EXPECTED_ACTIONS:
        c.run(f"{binary}: environment variables", c.check_env, binary)
    c.run("parameters: no secret values, secret ARNs only", c.check_secret_parameters)
    c.run("functions: no secret resolved into the template", c.check_no_secret_resolution_anywhere)
    c.run("demo pool: V2_0 trigger, Essentials, revocation, invoke permission", c.check_demo_pool)
    c.run("outputs", c.check_outputs)
    c.run("parameters: ReplicaRegions (at most 3) and ExistingTableName", c.check_region_parameters)
    for name, region, parameters, want_table, want_replicas, want_regions in REGION_SCENARIOS:
        c.run(
            f"deployed in {region}, {name}: tables, replicas, SIGNOUT_TABLE, SIGNOUT_REGIONS, IAM, TableName",
            c.check_deployed,
            region,
            parameters,
            want_table,
            want_replicas,
            want_regions,
        )
    print(f"{c.passed} passed, {c.failed} failed")
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
