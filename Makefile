# Everything installs what it needs: Python tools into the project-local .venv.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

VENV_DEPLOY := .venv-deploy
VENV_CHECKOV := .venv-checkov
SAM_ENV := AWS_DEFAULT_REGION=us-east-1 AWS_ACCESS_KEY_ID=offline AWS_SECRET_ACCESS_KEY=offline SAM_CLI_TELEMETRY=0

.PHONY: bench-events redrive run demo test test-openapi test-rust test-browser browser-deps test-template openapi-apigateway sam-build fuzz bench lint fmt venv venv-deploy venv-checkov clean

## The README's first command: the emulator, the four functions under
## cargo lambda watch, and a walkthrough; left running until Ctrl-C.
## The functions listen on LAMBDA_PORT (cargo lambda watch; 9000 by default).
LAMBDA_PORT ?= 9000
run: venv
	LAMBDA_PORT=$(LAMBDA_PORT) cargo run -p testkit --example walkthrough

## Redrives the events function's on-failure queue (tools/redrive.py): each message's
## records are read back from the stream and sent to the function again; a message is
## deleted only once every record is delivered. QUEUE_URL is the DLQ (the template's
## EventsDeadLetterQueueUrl output); FUNCTION the events function's name or ARN;
## LAMBDA_ENDPOINT, for a local run, the invoke API of cargo lambda watch.
FUNCTION ?= events
redrive: venv
	$(VENV)/bin/python tools/redrive.py --queue-url "$(QUEUE_URL)" --function "$(FUNCTION)" \
		$(if $(LAMBDA_ENDPOINT),--lambda-endpoint "$(LAMBDA_ENDPOINT)")

## The shared crate's own demo (no Lambda runtime).
demo: venv
	cargo run -p signout --example demo

## The README's second command: every test (unit, emulator, functions under
## cargo lambda watch, the walkthrough end to end, the browser suite, the SAM template).
test: test-openapi test-rust test-browser test-template

## The published contract, docs/openapi.yaml: valid OpenAPI 3.1, and its API Gateway
## rendition valid OpenAPI 3.0 (openapi-spec-validator). test-rust then runs schemathesis
## against the real function (functions/signout-api/tests/contract.rs).
test-openapi: venv
	$(VENV)/bin/openapi-spec-validator docs/openapi.yaml
	$(VENV)/bin/python tools/openapi_apigateway.py docs/openapi.yaml > $(VENV)/openapi-apigateway.json
	$(VENV)/bin/openapi-spec-validator $(VENV)/openapi-apigateway.json

test-rust: venv
	cargo test --workspace --all-targets

## Debian's headless Chromium and its driver, for the browser suite (installed once;
## root, as on the developers' machines and CI).
browser-deps:
	@dpkg -s chromium chromium-driver >/dev/null 2>&1 || { \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; }

## The browser suite (tests/browser): headless Chromium, driven by Playwright, follows
## sign-in and sign-out across app.test, api.test (the functions under cargo lambda watch)
## and auth.test (the emulator's hosted UI); screenshots in target/browser-screenshots/.
test-browser: venv browser-deps
	$(VENV)/bin/python -m pytest -q -p no:cacheprovider tests/browser

## The document for `aws apigatewayv2 import-api --body file://openapi-apigateway.json`
## (OpenAPI 3.0; FUNCTION_ARN adds a Lambda proxy integration to every route).
openapi-apigateway: venv
	$(VENV)/bin/python tools/openapi_apigateway.py docs/openapi.yaml \
		$(if $(FUNCTION_ARN),--function-arn $(FUNCTION_ARN)) > openapi-apigateway.json

## The template, offline: SAM's own lint and cfn-lint on template.yaml; then the SAM
## transform (aws-sam-translator, tools/sam_transform.py) and, on what it writes, cfn-lint
## with the serverless rules (skips: tools/cfnlint-transformed.yaml) and checkov (skips:
## .checkov.yaml); then tests/template/ (pytest: IAM, routes, table, logs, alarms, aliases,
## guards, conditions, outputs, the template as deployed with given parameters).
TRANSFORMED := $(VENV_DEPLOY)/template.transformed.json
test-template: venv venv-deploy venv-checkov
	$(SAM_ENV) $(VENV_DEPLOY)/bin/sam validate --lint --template template.yaml --region us-east-1
	$(VENV_DEPLOY)/bin/cfn-lint template.yaml
	$(SAM_ENV) $(VENV_DEPLOY)/bin/python tools/sam_transform.py template.yaml $(TRANSFORMED)
	$(VENV_DEPLOY)/bin/cfn-lint --config-file tools/cfnlint-transformed.yaml -t $(TRANSFORMED) -a cfn_lint_serverless.rules
	$(SAM_ENV) $(VENV_CHECKOV)/bin/checkov --config-file .checkov.yaml -f $(TRANSFORMED)
	$(SAM_ENV) $(VENV_DEPLOY)/bin/python -m pytest -q -p no:cacheprovider tests/template

## `sam build` of all four functions (release builds through cargo-lambda), for
## ARCH (arm64 by default, as the template's Architecture; ARCH=x86_64 for the other).
## arm64 cross-compiles with the zig that cargo-lambda's package brings; the rustup
## target is added first.
ARCH ?= arm64
sam-build: venv venv-deploy
	$(if $(filter arm64,$(ARCH)),rustup target add aarch64-unknown-linux-gnu)
	$(SAM_ENV) PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV_DEPLOY)/bin/sam build --template template.yaml \
		--parameter-overrides Architecture=$(ARCH)

## Every fuzz target for FUZZ_SECONDS each (cargo-fuzz, libFuzzer); results in fuzz/RESULTS.md.
FUZZ_SECONDS ?= 60
fuzz:
	fuzz/run.sh $(FUZZ_SECONDS)

## Benchmarks (issue 9): decision cost, cold start, size, memory, round trips,
## side by side with aws-jwt-verify; prints the table and writes bench/RESULTS.md.
## Release builds for x86_64 and arm64: expect 20+ minutes on two cores.
bench: venv
	bash bench/run.sh

## Sign-out events, measured locally (issue 18): acknowledged sign-out to the relying
## party's verified receipt (median, worst), and facts per second one events instance
## delivers; prints the table bench/RESULTS.md quotes.
bench-events: venv
	cargo run -q -p testkit --example events_latency

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

fmt:
	cargo fmt --all

venv: $(VENV)/.installed

$(VENV)/.installed: tools/requirements.txt tools/requirements-contract.txt tools/requirements-browser.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tools/requirements.txt \
		-r tools/requirements-contract.txt -r tools/requirements-browser.txt
	touch $@

venv-deploy: $(VENV_DEPLOY)/.installed

$(VENV_DEPLOY)/.installed: tools/requirements-deploy.txt
	test -x $(VENV_DEPLOY)/bin/python || $(PYTHON) -m venv $(VENV_DEPLOY)
	$(VENV_DEPLOY)/bin/pip install --quiet --disable-pip-version-check -r tools/requirements-deploy.txt
	touch $@

venv-checkov: $(VENV_CHECKOV)/.installed

$(VENV_CHECKOV)/.installed: tools/requirements-checkov.txt
	test -x $(VENV_CHECKOV)/bin/python || $(PYTHON) -m venv $(VENV_CHECKOV)
	$(VENV_CHECKOV)/bin/pip install --quiet --disable-pip-version-check -r tools/requirements-checkov.txt
	touch $@

clean:
	rm -rf $(VENV) $(VENV_DEPLOY) $(VENV_CHECKOV) target .aws-sam openapi-apigateway.json
