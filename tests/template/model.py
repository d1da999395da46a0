"""What the template must hold (expectations) and a view of template.yaml
as written (before the SAM transform): its functions by binary, their roles,
routes, log groups and environment, the revocation tables."""

import re

from cfn import as_list, branches, ref_name, strings_in  # noqa: F401


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
        # GET /.well-known/jwks.json: the events' public key.
        "kms:GetPublicKey",
    },
    "logout": {
        "dynamodb:UpdateItem",
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "secretsmanager:GetSecretValue",
    },
    # The stream (read by the event source mapping with this role), the on-failure
    # queue, the signing key and the bus: each on that one resource.
    "events": {
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
        "dynamodb:ListStreams",
        "sqs:SendMessage",
        "kms:Sign",
        "kms:GetPublicKey",
        "events:PutEvents",
    },
}
LOG_ACTIONS = {"logs:CreateLogStream", "logs:PutLogEvents"}
# X-Ray's write actions: the only ones allowed on "*" (no resource-level permissions).
TRACE_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
# Read by the events function's event source mapping, on the table's stream.
STREAM_ACTIONS = {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"}
# binary -> the secret ARN parameters it may read.
EXPECTED_SECRETS = {
    "authorizer": set(),
    "pre-token": set(),
    "signout-api": {"ClientSecretsArn"},
    # LogoutStateKeyArn when given, else the stack's own LogoutStateKey.
    "logout": {"ClientSecretsArn", "LogoutStateKeyArn", "LogoutStateKey"},
    "events": set(),
}
# binary -> environment variables it must receive (besides the global ones).
EXPECTED_ENV = {
    "authorizer": {"AUTHORIZER_FAIL_OPEN", "REVOCATION_CACHE_MS", "AUTHORIZER_RESPONSE_MODE"},
    "pre-token": {"SDK_OPERATION_TIMEOUT_MS"},
    "signout-api": {"APP_CLIENT_SECRETS_ARN", "EVENTS_ISSUER", "EVENTS_SIGNING_KEYS"},
    "logout": {
        "COGNITO_DOMAIN",
        "LOGOUT_URLS",
        "LOGOUT_CALLBACK_URL",
        "LOGOUT_STATE_KEY_ARN",
        "APP_CLIENT_SECRETS_ARN",
    },
    "events": {"EVENT_BUS_NAME", "EVENTS_ISSUER", "EVENTS_SIGNING_KEYS", "BACKCHANNEL_LOGOUT", "SSF_RECEIVERS"},
}
GLOBAL_ENV = {
    "USER_POOL_ID",
    "SIGNOUT_TABLE",
    "SIGNOUT_REGIONS",
    "APP_CLIENT_IDS",
    "MAX_TOKEN_LIFETIME_SECONDS",
    "METRICS_NAMESPACE",
    "TOKEN_CACHE_ENTRIES",
    "TOKEN_CACHE_BYTES",
}
MAX_TIMEOUT = {"authorizer": 5, "pre-token": 5, "signout-api": 10, "logout": 10, "events": 30}
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
    ("POST", "/logout"): ("logout", None),
    ("GET", "/logout/callback"): ("logout", None),
    ("GET", "/.well-known/jwks.json"): ("signout-api", None),
    ("GET", "/.well-known/ssf-configuration"): ("signout-api", None),
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
        "existing table, one Region, browser logout configured",
        "us-east-1",
        {
            "ExistingTableName": "signout-revocations",
            "CognitoDomain": "https://auth.example.com",
            "LogoutCallbackUrl": "https://api.example.com/logout/callback",
        },
        "signout-revocations",
        None,
        ["us-east-1"],
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

class Template:
    def __init__(self, template):
        self.t = template
        self.resources = template.get("Resources") or {}
        self.parameters = template.get("Parameters") or {}
        self.conditions = template.get("Conditions") or {}
        self.outputs = template.get("Outputs") or {}
        self.globals = ((template.get("Globals") or {}).get("Function")) or {}
        self.functions = {}  # binary -> (logical id, resource)
        for lid, res in self.resources.items():
            if res.get("Type") == "AWS::Serverless::Function":
                binary = ((res.get("Metadata") or {}).get("BuildProperties") or {}).get("Binary")
                self.functions[binary or lid] = (lid, res)
        tables = [lid for lid, r in self.resources.items() if r.get("Type") == "AWS::DynamoDB::Table"]
        self.table = tables[0] if len(tables) == 1 else None
        global_tables = [lid for lid, r in self.resources.items() if r.get("Type") == "AWS::DynamoDB::GlobalTable"]
        self.global_table = global_tables[0] if len(global_tables) == 1 else None

    def of_type(self, type_):
        return {lid: r for lid, r in self.resources.items() if r.get("Type") == type_}

    def prop(self, res, key):
        """A function property, falling back to Globals.Function."""
        props = res.get("Properties") or {}
        return props[key] if key in props else self.globals.get(key)

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

    def is_table_streams_arn(self, value):
        """Every stream of the table in use in this Region (`table/<name>/stream/*`):
        ListStreams has no resource narrower than that."""
        sub = value.get("Fn::Sub") if isinstance(value, dict) else None
        if not (isinstance(sub, list) and len(sub) == 2 and isinstance(sub[0], str) and isinstance(sub[1], dict)):
            return False
        m = re.fullmatch(
            r"arn:\$\{AWS::Partition\}:dynamodb:\$\{AWS::Region\}:\$\{AWS::AccountId\}:table/\$\{(\w+)\}/stream/\*",
            sub[0],
        )
        return bool(m) and self.is_table_name(sub[1].get(m.group(1)))

    def is_stream_arn(self, value):
        """The stream of the table in use in this Region: the plain or the global
        table's StreamArn, or ExistingTableName's stream (ExistingTableStreamLabel)."""
        if isinstance(value, dict) and "Fn::GetAtt" in value:
            return value["Fn::GetAtt"] in ([self.table, "StreamArn"], [self.global_table, "StreamArn"])
        return isinstance(value, dict) and value.get("Fn::Sub") == (
            "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${ExistingTableName}"
            "/stream/${ExistingTableStreamLabel}"
        )

    def is_stream_arn_everywhere(self, value):
        """Every Fn::If branch is this Region's stream of the table in use, and all three occur."""
        found = branches(value)
        return len(found) == 3 and all(self.is_stream_arn(b) for b in found)

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

    def tables(self):
        """(logical id, resource) of the plain table and of the global table."""
        return [(lid, self.resources.get(lid) or {}) for lid in (self.table, self.global_table)]

    def log_group_of(self, binary):
        _, res = self.functions[binary]
        cfg = self.prop(res, "LoggingConfig") or {}
        local = ((res.get("Properties") or {}).get("LoggingConfig") or {})
        group = local.get("LogGroup", cfg.get("LogGroup"))
        return ref_name(group)

    def env_of(self, res):
        env = dict(((self.globals.get("Environment") or {}).get("Variables")) or {})
        env.update((((res.get("Properties") or {}).get("Environment") or {}).get("Variables")) or {})
        return env
