#!/usr/bin/env node
// A Lambda runtime loop for authorizer.mjs, as Lambda's Node.js runtime runs
// a handler: poll the runtime API for an event, call the handler, post its
// answer (or error), over one kept-alive connection (node:http, as the
// runtime interface client does). The handler module is imported first, so
// its initialisation (SDK clients, verifier) counts as Init, as on Lambda.

import http from "node:http";
import { handler } from "./authorizer.mjs";

const [host, port] = process.env.AWS_LAMBDA_RUNTIME_API.split(":");
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const base = "/2018-06-01/runtime/invocation";

function request(method, path, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host, port, method, path, agent, headers: body ? { "content-type": "application/json" } : {} },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => resolve({ headers: res.headers, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

for (;;) {
  const next = await request("GET", `${base}/next`);
  const id = next.headers["lambda-runtime-aws-request-id"];
  try {
    const answer = await handler(JSON.parse(next.body));
    await request("POST", `${base}/${id}/response`, JSON.stringify(answer));
  } catch (e) {
    const error = JSON.stringify({ errorMessage: String(e.message), errorType: "Error" });
    await request("POST", `${base}/${id}/error`, error);
  }
}
