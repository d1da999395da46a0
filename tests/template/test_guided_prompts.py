"""docs/DEPLOY.md's `sam deploy --guided` transcript asks for every parameter of
the template, in the template's order, with the template's defaults."""

import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def prompts():
    text = open(os.path.join(ROOT, "docs", "DEPLOY.md")).read()
    return re.findall(r"^\s+Parameter (\w+) \[(.*?)\]:", text, re.M)


def test_the_guided_prompts_in_deploy_md_are_the_templates_parameters_in_order(template):
    params = template.t["Parameters"]
    expected = [(name, str(p.get("Default", ""))) for name, p in params.items()]
    assert prompts() == expected
