import { test } from "node:test";
import assert from "node:assert/strict";
import { busError } from "./kafka-produce.ts";

/** Shaped like kafkajs's errors: a name, a broker error `type`, and the error retried in `cause`. */
function kafkaError(name: string, type?: string, cause?: unknown): Error {
  return Object.assign(new Error(type ? `broker says ${type}` : name, { cause }), { name, ...(type ? { type } : {}) });
}

test("records the broker refuses map to RIPOSTE_BUS_REJECTED (not retriable)", () => {
  for (const type of ["MESSAGE_TOO_LARGE", "INVALID_RECORD", "TOPIC_AUTHORIZATION_FAILED"]) {
    const e = busError(kafkaError("KafkaJSProtocolError", type));
    assert.equal(e.code, "RIPOSTE_BUS_REJECTED", type);
    assert.equal(e.retriable, false);
    assert.match(e.message, new RegExp(type));
  }
});

test("connections, timeouts and exhausted retries map to RIPOSTE_BUS_UNAVAILABLE (retriable)", () => {
  const retried = kafkaError(
    "KafkaJSNumberOfRetriesExceeded",
    undefined,
    kafkaError("KafkaJSProtocolError", "UNKNOWN_TOPIC_OR_PARTITION"),
  );
  for (const e of [kafkaError("KafkaJSConnectionError"), retried, new Error("timeout"), "not even an Error"]) {
    const mapped = busError(e);
    assert.equal(mapped.code, "RIPOSTE_BUS_UNAVAILABLE");
    assert.equal(mapped.retriable, true);
  }
});

test("a refusal found in the cause chain still counts as a refusal", () => {
  const wrapped = kafkaError(
    "KafkaJSNonRetriableError",
    undefined,
    kafkaError("KafkaJSProtocolError", "RECORD_LIST_TOO_LARGE"),
  );
  assert.equal(busError(wrapped).code, "RIPOSTE_BUS_REJECTED");
});
