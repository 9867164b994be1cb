/** The logger redacts connector credentials and vendor auth headers wherever a caller might log them. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { pino } from "pino";
import { REDACT_PATHS } from "./log.ts";

test("connector credentials and API-key headers are redacted", () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const log = pino({ redact: { paths: [...REDACT_PATHS], censor: "[redacted]" } }, sink);
  log.info({
    credentials: { api_key: "k1", api_token: "k2", access_key: "k3", secret_key: "k4", password: "k5" },
    headers: { "x-pan-key": "k6", "x-apikey": "k7", "x-apikeys": "k8", key: "k9", authorization: "k10" },
  });
  const out = lines.join("");
  for (let i = 1; i <= 10; i++) assert.ok(!out.includes(`"k${i}"`), `k${i} redacted: ${out}`);
});
