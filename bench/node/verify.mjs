// The reference for `make bench`: aws-jwt-verify verifying the tokens of the
// Rust decision bench (shared/benches/decision.rs) against the same JWKS.
//
//   node verify.mjs --tokens <tokens.json> --jwks <jwks.json> [--count 20000] [--warmup 5000] [--rounds 3]
//
// tokens.json: {"user_pool_id", "client_id", "tokens": [...]}, written by the
// Rust bench (BENCH_OUT). The verifier is configured as a Node authorizer
// would be (userPoolId, tokenUse "access", clientId) and hydrated with the
// JWKS (cacheJwks), so no verification fetches anything. Each round times a
// fixed count of verifications, cycling through the tokens, after a warm-up;
// `verifySync` and the async `verify` are measured separately. Prints JSON.

import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { CognitoJwtVerifier } from "aws-jwt-verify";

const { values: args } = parseArgs({
  options: {
    tokens: { type: "string" },
    jwks: { type: "string" },
    count: { type: "string", default: "20000" },
    warmup: { type: "string", default: "5000" },
    rounds: { type: "string", default: "3" },
  },
});
if (!args.tokens || !args.jwks) {
  console.error("usage: node verify.mjs --tokens <tokens.json> --jwks <jwks.json> [--count N] [--warmup N] [--rounds N]");
  process.exit(2);
}
const count = Number(args.count);
const warmup = Number(args.warmup);
const rounds = Number(args.rounds);

const input = JSON.parse(readFileSync(args.tokens, "utf8"));
const jwks = JSON.parse(readFileSync(args.jwks, "utf8"));
const tokens = input.tokens;

const verifier = CognitoJwtVerifier.create({
  userPoolId: input.user_pool_id,
  tokenUse: "access",
  clientId: input.client_id,
});
verifier.cacheJwks(jwks);

// Every token must verify (issuer, token_use, client_id, exp, signature)
// before anything is timed: a refusal would be cheaper than the real work.
for (const t of tokens) verifier.verifySync(t);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function summary(perSecond) {
  const tps = median(perSecond);
  return { tokens_per_second: tps, us_per_token: 1e6 / tps, rounds: perSecond };
}

function measureSync() {
  for (let i = 0; i < warmup; i++) verifier.verifySync(tokens[i % tokens.length]);
  const perSecond = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    for (let i = 0; i < count; i++) verifier.verifySync(tokens[i % tokens.length]);
    perSecond.push(count / ((performance.now() - t0) / 1000));
  }
  return summary(perSecond);
}

async function measureAsync() {
  for (let i = 0; i < warmup; i++) await verifier.verify(tokens[i % tokens.length]);
  const perSecond = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    for (let i = 0; i < count; i++) await verifier.verify(tokens[i % tokens.length]);
    perSecond.push(count / ((performance.now() - t0) / 1000));
  }
  return summary(perSecond);
}

const { version } = JSON.parse(
  readFileSync(new URL("./node_modules/aws-jwt-verify/package.json", import.meta.url), "utf8"),
);
const sync = measureSync();
const asyncResult = await measureAsync();
console.log(
  JSON.stringify(
    {
      library: "aws-jwt-verify",
      version,
      node: process.version,
      tokens: tokens.length,
      count,
      warmup,
      verify_sync: sync,
      verify_async: asyncResult,
    },
    null,
    2,
  ),
);
