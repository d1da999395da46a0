#!/usr/bin/env bash
# Runs every fuzz target for a bounded time: `fuzz/run.sh [seconds per target]`.
# Seeds come from events/ and the test corpora; crashes land in fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_EACH="${1:-60}"
# FUZZ_BUILD="--dev -s none" builds in minutes (CI); the default is optimised with AddressSanitizer.
BUILD_FLAGS="${FUZZ_BUILD:--O}"
# cargo-fuzz needs nightly flags (-Zsanitizer); the one toolchain here is stable,
# and RUSTC_BOOTSTRAP lets it accept them.
export RUSTC_BOOTSTRAP=1
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --version 0.13.2 --locked
targets=(jwt jwks trigger_event authorizer_event api_request bodies logout_request)
for t in "${targets[@]}"; do mkdir -p "corpus/$t"; done
# Seeds: every sample event, the JWKS, a few tokens' shapes.
for f in ../events/*/*.json; do
  name="$(basename "$(dirname "$f")")-$(basename "$f")"
  cp "$f" "corpus/trigger_event/$name"; cp "$f" "corpus/authorizer_event/$name"; cp "$f" "corpus/api_request/$name"
  cp "$f" "corpus/bodies/$name"
done
cp seeds/jwks-public.json corpus/jwks/
printf 'eyJhbGciOiJSUzI1NiIsImtpZCI6ImR1bW15In0.eyJzdWIiOiJ4In0.c2ln' > corpus/jwt/rs256
printf 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.' > corpus/jwt/none
printf 'token=abc&token_type_hint=refresh_token&client_id=c' > corpus/bodies/form
printf '{"scope":"session","refresh_token":"r"}' > corpus/bodies/json
printf 'client_id=c&post_logout_redirect_uri=https%%3A%%2F%%2Fapp.example.com%%2Fbye&state=xyz&id_token_hint=a.b.c' > corpus/logout_request/oidc
printf 'client_id=c&logout_uri=https%%3A%%2F%%2Fapp.example.com%%2F' > corpus/logout_request/cognito
cargo fuzz build $BUILD_FLAGS
printf '| target | seconds | executions | result |\n| --- | --- | --- | --- |\n' > ../fuzz/RESULTS.md
for t in "${targets[@]}"; do
  log="$(mktemp)"
  if cargo fuzz run $BUILD_FLAGS "$t" "corpus/$t" -- -max_total_time="$SECONDS_EACH" -max_len=65536 -print_final_stats=1 >"$log" 2>&1; then
    result=clean
  else
    result="CRASH (see fuzz/artifacts/$t)"
  fi
  runs="$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}' | tail -1)"
  echo "| $t | $SECONDS_EACH | ${runs:-?} | $result |" | tee -a ../fuzz/RESULTS.md
  if [ "$result" != clean ]; then tail -40 "$log"; exit 1; fi
done
