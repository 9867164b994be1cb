import { test } from "node:test";
import assert from "node:assert/strict";
import { RiposteError } from "../errors.ts";
import { stateError } from "./redis.ts";

/** An error shaped like ioredis / redis-errors raise them (their classes report the class name as `name`). */
function err(name: string, message: string, code?: string): Error {
  const e = new Error(message);
  Object.defineProperty(e, "name", { value: name });
  if (code !== undefined) Object.assign(e, { code });
  return e;
}

const retriable: Array<[string, Error]> = [
  ["connection refused", err("Error", "connect ECONNREFUSED 127.0.0.1:6379", "ECONNREFUSED")],
  ["connection reset", err("Error", "read ECONNRESET", "ECONNRESET")],
  ["connect timeout", err("Error", "connect ETIMEDOUT")],
  ["connection closed", err("Error", "Connection is closed.")],
  ["offline queue off", err("Error", "Stream isn't writeable and enableOfflineQueue options is false")],
  ["command timeout", err("Error", "Command timed out")],
  [
    "max retries",
    err(
      "MaxRetriesPerRequestError",
      'Reached the max retries per request limit (which is 3). Refer to "maxRetriesPerRequest" option for details.',
    ),
  ],
  ["aborted", err("AbortError", "Command aborted due to connection close")],
  ["protocol desync", err("ParserError", 'Protocol error, got "x" as reply type byte')],
  ["loading", err("ReplyError", "LOADING Redis is loading the dataset in memory")],
  ["cluster down", err("ReplyError", "CLUSTERDOWN The cluster is down")],
  ["try again", err("ReplyError", "TRYAGAIN Multiple keys request during rehashing of slot")],
  ["replica", err("ReplyError", "READONLY You can't write against a read only replica.")],
  [
    "replica, from inside a script",
    err(
      "ReplyError",
      "ERR Error running script (call to f_1): @user_script:12: @user_script: 12: -READONLY You can't write against a read only replica.",
    ),
  ],
  [
    "master down",
    err("ReplyError", "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."),
  ],
  [
    "busy script",
    err("ReplyError", "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."),
  ],
  ["out of memory", err("ReplyError", "OOM command not allowed when used memory > 'maxmemory'.")],
  ["wrapped", new Error("pipeline failed", { cause: err("Error", "connect ECONNREFUSED", "ECONNREFUSED") })],
];

const notRetriable: Array<[string, unknown]> = [
  ["script error", err("ReplyError", "ERR invalid expire time in 'set' command script: b5f4326c, on @user_script:1.")],
  ["wrong type", err("ReplyError", "WRONGTYPE Operation against a key holding the wrong kind of value script: a8f1")],
  [
    "Lua runtime error",
    err("ReplyError", "ERR user_script:3: Script attempted to access nonexistent global variable 'x' script: 9e2a"),
  ],
  ["not an integer", err("ReplyError", "ERR value is not an integer or out of range script: 6163, on @user_script:1.")],
  ["auth", err("ReplyError", "NOAUTH Authentication required.")],
  ["a reply mentioning a closed connection is still a reply", err("ReplyError", "ERR Connection is closed by script")],
  ["client-side argument error", new TypeError("Invalid argument [object Object]")],
  ["not an Error", "boom"],
];

test("connection and availability errors map to RIPOSTE_STATE_UNAVAILABLE (retriable)", () => {
  for (const [what, e] of retriable) {
    const mapped = stateError("claim", e);
    assert.equal(mapped.code, "RIPOSTE_STATE_UNAVAILABLE", what);
    assert.equal(mapped.retriable, true, what);
    assert.equal(mapped.cause, e, `${what}: keeps the cause`);
    assert.match(mapped.message, /^Redis claim failed: /, what);
  }
});

test("script and other command errors map to RIPOSTE_STATE_SCRIPT (not retriable)", () => {
  for (const [what, e] of notRetriable) {
    const mapped = stateError("seen", e);
    assert.equal(mapped.code, "RIPOSTE_STATE_SCRIPT", what);
    assert.equal(mapped.retriable, false, what);
    assert.match(mapped.message, /^Redis seen refused: /, what);
  }
});

test("a coded error passes through unchanged", () => {
  const e = new RiposteError("RIPOSTE_STATE_SCRIPT", "state seen: the TTL must be a positive number of milliseconds");
  assert.equal(stateError("seen", e), e);
});
