"""Secrets: only Secrets Manager ARNs as parameters, no value in the template or the environment."""

from model import SECRET_LIKE, ARN_PATTERN_PREFIX
from conftest import assert_no_problems

from cfn import refs_in, strings_in

def check_secret_parameters(t, problems):
    for name, p in t.parameters.items():
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
    no_echo = {n for n, p in t.parameters.items() if str(p.get("NoEcho", "")).lower() == "true"}
    for binary, (lid, res) in t.functions.items():
        for var, value in t.env_of(res).items():
            used = set(refs_in(value))
            if used & no_echo:
                problems.append(f"{lid}: {var} receives NoEcho parameter(s) {sorted(used & no_echo)}")
            if any("{{resolve:secretsmanager" in s or "{{resolve:ssm-secure" in s for s in strings_in(value)):
                problems.append(f"{lid}: {var} resolves a secret into an environment variable")


def check_no_secret_resolution_anywhere(t, problems):
    for lid, res in t.resources.items():
        if res.get("Type") in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
            for s in strings_in(res):
                if "{{resolve:secretsmanager" in s or "{{resolve:ssm-secure" in s:
                    problems.append(f"{lid}: dynamic secret reference in a function: {s[:60]}...")


def test_parameters_hold_secret_arns_never_secret_values(template):
    assert_no_problems(check_secret_parameters, template)


def test_no_secret_resolved_into_a_function(template):
    assert_no_problems(check_no_secret_resolution_anywhere, template)
