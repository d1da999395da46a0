// The Node.js authorizer a team would otherwise deploy, for `make bench`'s
// cold-start comparison: the shape of the public Cognito token-revocation
// samples. aws-jwt-verify checks the access token (JWKS fetched on first use
// and cached), then one DynamoDB BatchGetItem (AWS SDK for JavaScript v3) of
// the same items our authorizer reads (the user's cutoff and block, the
// session, the client's and the pool's cutoffs), strongly consistent, and an
// IAM policy comes back. Configured by the same variables as ours
// (USER_POOL_ID, APP_CLIENT_IDS, JWKS_URL, TOKEN_ISSUER, SIGNOUT_TABLE,
// AWS_REGION, AWS_ENDPOINT_URL_DYNAMODB). Not a product: a reference point.

import http from "node:http";
import { BatchGetItemCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { JwtVerifier } from "aws-jwt-verify";
import { SimpleJwksCache } from "aws-jwt-verify/jwk";

const region = process.env.AWS_REGION;
const poolId = process.env.USER_POOL_ID;
const table = process.env.SIGNOUT_TABLE;
const issuer =
  process.env.TOKEN_ISSUER || `https://cognito-idp.${region}.amazonaws.com/${poolId}`;

// aws-jwt-verify fetches over https only; the emulator serves plain http on
// loopback (as it does to our functions), so the key set comes through this
// fetcher instead: the same one GET.
const httpFetcher = {
  fetch: (uri) =>
    new Promise((resolve, reject) => {
      http
        .get(uri, (res) => {
          const chunks = [];
          res.on("data", (c) => chunks.push(c));
          res.on("end", () => {
            const body = Buffer.concat(chunks);
            resolve(body.buffer.slice(body.byteOffset, body.byteOffset + body.length));
          });
        })
        .on("error", reject);
    }),
};

// The generic verifier: the emulator serves the keys at JWKS_URL, not under `iss`.
const verifier = JwtVerifier.create(
  {
    issuer,
    audience: null,
    jwksUri: process.env.JWKS_URL || `${issuer}/.well-known/jwks.json`,
    customJwtCheck: ({ payload }) => {
      const clients = (process.env.APP_CLIENT_IDS || "").split(",");
      if (payload.token_use !== "access" || !clients.includes(payload.client_id)) {
        throw new Error("not an access token of an allowed client");
      }
    },
  },
  { jwksCache: new SimpleJwksCache({ fetcher: httpFetcher }) },
);
const ddb = new DynamoDBClient({ region });

function policy(effect, methodArn, principalId) {
  return {
    principalId,
    policyDocument: {
      Version: "2012-10-17",
      Statement: [{ Action: "execute-api:Invoke", Effect: effect, Resource: methodArn }],
    },
  };
}

export async function handler(event) {
  const token = (event.authorizationToken || "").replace(/^Bearer /i, "");
  let claims;
  try {
    claims = await verifier.verify(token);
  } catch {
    throw new Error("Unauthorized");
  }
  const keys = [
    `${region}#USER#${claims.sub}`,
    `${region}#BLOCK#${claims.sub}`,
    `${region}#SESSION#${claims.sub}#${claims.origin_jti}`,
    `${region}#CLIENT#${claims.client_id}`,
    `${region}#POOL`,
  ].map((pk) => ({ pk: { S: pk } }));
  const out = await ddb.send(
    new BatchGetItemCommand({
      RequestItems: { [table]: { Keys: keys, ConsistentRead: true } },
    }),
  );
  const minted = claims.iat * 1000;
  const now = Date.now();
  for (const item of out.Responses?.[table] ?? []) {
    const pk = item.pk.S;
    const n = (name) => Number(item[name]?.N ?? 0);
    if (pk.includes("#SESSION#") && n("covers_until") > 0) throw new Error("Unauthorized");
    if (pk.includes("#BLOCK#") && n("blocked_until") > now) throw new Error("Unauthorized");
    if (n("not_before") > minted) throw new Error("Unauthorized");
  }
  return policy("Allow", event.methodArn, claims.sub);
}
