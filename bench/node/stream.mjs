// aws-jwt-verify over the Zipf stream of the Rust bench (stream/zipf_verify in
// shared/benches/decision.rs): 10,000 users' access tokens presented in the
// same order, one `verifySync` per presentation, as a Node authorizer does per
// request (aws-jwt-verify keeps the key set, not verification results).
//
//   node stream.mjs --stream <stream.json> [--presentations 50000] [--rounds 3]
//
// stream.json: {"issuer", "client_id", "jwks", "tokens": [...], "stream": [index, ...]},
// written by the Rust bench (BENCH_OUT). The first `presentations` of the
// stream are timed per round (the whole stream at one RSA check each would
// take minutes; the rate does not depend on which part). Prints JSON.

import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { JwtVerifier } from "aws-jwt-verify";

const { values: args } = parseArgs({
  options: {
    stream: { type: "string" },
    presentations: { type: "string", default: "50000" },
    rounds: { type: "string", default: "3" },
  },
});
if (!args.stream) {
  console.error("usage: node stream.mjs --stream <stream.json> [--presentations N] [--rounds N]");
  process.exit(2);
}
const input = JSON.parse(readFileSync(args.stream, "utf8"));
const order = input.stream.slice(0, Number(args.presentations));
const rounds = Number(args.rounds);

// Configured as a Node authorizer would be: issuer, access tokens of the client.
const verifier = JwtVerifier.create({
  issuer: input.issuer,
  audience: null,
  customJwtCheck: ({ payload }) => {
    if (payload.token_use !== "access" || payload.client_id !== input.client_id) {
      throw new Error("not an access token of the client");
    }
  },
});
verifier.cacheJwks(input.jwks);

// Every presented token must verify before anything is timed.
for (const i of new Set(order)) verifier.verifySync(input.tokens[i]);

const perSecond = [];
for (let r = 0; r < rounds; r++) {
  const t0 = performance.now();
  for (const i of order) verifier.verifySync(input.tokens[i]);
  perSecond.push(order.length / ((performance.now() - t0) / 1000));
}
const sorted = [...perSecond].sort((a, b) => a - b);
const median = sorted[sorted.length >> 1];
console.log(
  JSON.stringify(
    {
      users: input.tokens.length,
      presentations: order.length,
      distinct_presented: new Set(order).size,
      tokens_per_second: median,
      us_per_token: 1e6 / median,
      rounds: perSecond,
    },
    null,
    2,
  ),
);
