"""Fixtures of the template tests (run by `make test-template` with the deploy venv).

`template`: template.yaml as written (a `model.Template`); `deployed(region, **params)`:
the template after the offline SAM transform, as CloudFormation would deploy it with
those parameter values (`cfn.Deployed`), cached per argument set."""

import functools
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from cfn import TEMPLATE, Deployed, load, sam_transform  # noqa: E402
from model import Template  # noqa: E402


def problems_of(check, t, *args):
    """Run a check `check(t, problems, *args)` that appends what it finds; the findings."""
    problems = []
    check(t, problems, *args)
    return problems


def assert_no_problems(check, t, *args):
    problems = problems_of(check, t, *args)
    assert not problems, "\n".join(problems)


@pytest.fixture(scope="session")
def raw():
    return load(TEMPLATE)


@pytest.fixture(scope="session")
def template(raw):
    return Template(raw)


@functools.lru_cache(maxsize=None)
def _transformed(raw_id, region, items):
    return sam_transform(_RAW[raw_id], dict(items), region)


_RAW = {}


@pytest.fixture(scope="session")
def transformed(raw):
    """The SAM transform of the template with these parameter values (cached)."""
    _RAW[id(raw)] = raw

    def make(region="us-east-1", **parameters):
        return _transformed(id(raw), region, tuple(sorted(parameters.items())))

    return make


@pytest.fixture(scope="session")
def deployed(transformed):
    """The template as deployed in `region` with these parameter values."""

    def make(region="us-east-1", **parameters):
        return Deployed(transformed(region, **parameters), parameters, region)

    return make
