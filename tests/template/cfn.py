"""Reading template.yaml as CloudFormation does: short-form tags, Fn::If on both
branches, references; the offline SAM transform (tools/sam_transform.py); and the
template as deployed with given parameter values (`Deployed`: conditions
evaluated, parameters substituted, references to resources kept)."""

import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, os.pardir, os.pardir))
TEMPLATE = os.environ.get("TEMPLATE", os.path.join(ROOT, "template.yaml"))
sys.path.insert(0, os.path.join(ROOT, "tools"))

from sam_transform import load, transform  # noqa: E402  (tools/, put on the path above)

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


def is_alias(value, logical_id):
    """`!Ref <function>.Alias`: SAM's reference to the alias AutoPublishAlias creates (its ARN)."""
    return value == {"Ref": logical_id + ".Alias"}


def names_function(value, logical_id):
    """Whether `value` refers to the function `logical_id` in any way (itself, an attribute, its alias)."""
    return logical_id in {n.split(".")[0] for n in refs_in(value)}


def ref_name(value):
    return value.get("Ref") if isinstance(value, dict) and len(value) == 1 else None


PSEUDO = {
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::StackName": "cognito-signout",
    "AWS::StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/cognito-signout/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
    "AWS::URLSuffix": "amazonaws.com",
}
# Parameters without a default, as a deployment gives them (none: a first deploy
# needs no answer).
REQUIRED_PARAMETERS = {}


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



def sam_transform(template, parameters, region):
    """The offline SAM transform (aws-sam-translator) of `template` with these parameter values."""
    return transform(template, {**REQUIRED_PARAMETERS, **parameters}, region)



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

