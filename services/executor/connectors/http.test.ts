import { test, after } from "node:test";
import assert from "node:assert/strict";
import { isRiposteError } from "../../shared/errors.ts";
import { startFake } from "../../../test/fakes/http.ts";
import { HttpTransport, redactUrl, redactUrls } from "./http.ts";

const SECRET = "s3cr3t-value";

const fake = await startFake((req) =>
  req.path === "/echo"
    ? {
        status: 400,
        body: { errors: [{ message: `bad request to https://admin:${SECRET}@api.example/v1?token=${SECRET}&id=1` }] },
      }
    : { status: 200, body: { ok: true } },
);
after(() => fake.close());

test("redactUrl drops user info, query values and the fragment, keeps host, path and parameter names", () => {
  assert.equal(
    redactUrl(`https://admin:${SECRET}@api.example:8443/v1/x?token=${SECRET}&id=1&id=2#${SECRET}`),
    "https://[redacted]@api.example:8443/v1/x?token=[redacted]&id=[redacted]#[redacted]",
  );
  assert.equal(redactUrl("https://api.example/v1/x"), "https://api.example/v1/x");
  assert.equal(redactUrl(new URL("http://h/?a=1")), "http://h/?a=[redacted]");
  assert.equal(redactUrl("not a url"), "[redacted] URL");
});

test("redactUrls rewrites every URL inside a text", () => {
  const text = `fetch https://u:${SECRET}@a.example/x?k=${SECRET} failed, then "http://b.example/?q=${SECRET}" too`;
  const out = redactUrls(text);
  assert.ok(!out.includes(SECRET), out);
  assert.equal(
    out,
    'fetch https://[redacted]@a.example/x?k=[redacted] failed, then "http://b.example/?q=[redacted]" too',
  );
  assert.equal(redactUrls("no url here"), "no url here");
});

test("a base URL with user info is refused by the transport itself, without echoing it", () => {
  assert.throws(
    () => new HttpTransport("Vendor", `https://admin:${SECRET}@api.example`),
    (e) =>
      isRiposteError(e) &&
      e.code === "RIPOSTE_CONFIG_INVALID" &&
      /must not contain user info/.test(e.message) &&
      !e.message.includes(SECRET),
  );
  assert.throws(
    () => new HttpTransport("Vendor", `not a url ${SECRET}`),
    (e) => isRiposteError(e) && e.code === "RIPOSTE_CONFIG_INVALID" && !e.message.includes(SECRET),
  );
});

test("a vendor error body quoting a URL is redacted in the coded error", async () => {
  const t = new HttpTransport("Vendor", fake.url);
  await assert.rejects(t.ok({ method: "GET", path: "/echo", query: { filter: SECRET } }, "echo"), (e) => {
    assert.ok(isRiposteError(e) && e.code === "RIPOSTE_CONNECTOR_REJECTED");
    assert.ok(!e.message.includes(SECRET), e.message);
    assert.match(e.message, /https:\/\/\[redacted\]@api\.example\/v1\?token=\[redacted\]&id=\[redacted\]/);
    return true;
  });
  assert.equal(fake.requests.at(-1)?.query.get("filter"), SECRET, "the request itself is unchanged");
});

test("a network failure quoting the request URL is redacted and carries no raw cause", async () => {
  // A server that answers nothing (it drops the connection) behind a name the error quotes with the whole URL.
  const dropping = await startFake(() => ({ status: 200 }));
  dropping.faults.push("drop");
  const t = new HttpTransport("Vendor", dropping.url);
  try {
    await assert.rejects(t.send({ method: "POST", path: "/v1/q", query: { api_key: SECRET }, json: {} }), (e) => {
      assert.ok(isRiposteError(e) && e.code === "RIPOSTE_CONNECTOR_UNAVAILABLE" && e.retriable);
      assert.ok(!e.message.includes(SECRET), e.message);
      assert.match(e.message, /^Vendor POST \/v1\/q: socket hang up/);
      assert.equal(e.cause, undefined, "the raw client error is not attached");
      return true;
    });
  } finally {
    await dropping.close();
  }
  // And a message that does quote the URL (as some clients' errors do) is redacted.
  assert.equal(
    redactUrls(`fetch failed for ${dropping.url}/v1/q?api_key=${SECRET}`),
    `fetch failed for ${dropping.url}/v1/q?api_key=[redacted]`,
  );
});

test("connections are kept alive across calls; a kept connection the server closed is retried once for a GET", async () => {
  const server = await startFake(() => ({ status: 200, body: { ok: true } }));
  const t = new HttpTransport("Vendor", server.url);
  try {
    for (let i = 0; i < 5; i++) assert.equal((await t.send({ method: "GET", path: "/x" })).status, 200);
    assert.equal(server.connections(), 1, "one connection for five calls");
    // The server drops the kept connection as the next GET arrives: sent again on a new one, answered.
    server.faults.push("drop");
    const res = await t.send({ method: "GET", path: "/x" });
    assert.equal(res.status, 200);
    assert.equal(server.requests.length, 7, "the dropped attempt and the one that was answered");
    // A POST is not sent again by the transport: whether it may be is the step's retry policy's call.
    await t.send({ method: "GET", path: "/x" });
    server.faults.push("drop");
    await assert.rejects(
      t.send({ method: "POST", path: "/x", json: {} }),
      (e) => isRiposteError(e) && e.code === "RIPOSTE_CONNECTOR_UNAVAILABLE",
    );
    assert.equal(server.requests.length, 9);
  } finally {
    await server.close();
  }
});

test("a timeout is RIPOSTE_CONNECTOR_TIMEOUT; a redirect is not followed", async () => {
  const server = await startFake((req) =>
    req.path === "/slow"
      ? { status: 200, body: {}, delayMs: 2_000 }
      : { status: 302, headers: { location: "http://127.0.0.1:1/elsewhere" } },
  );
  const t = new HttpTransport("Vendor", server.url);
  try {
    await assert.rejects(
      t.send({ method: "GET", path: "/slow", signal: AbortSignal.timeout(50) }),
      (e) => isRiposteError(e) && e.code === "RIPOSTE_CONNECTOR_TIMEOUT",
    );
    await assert.rejects(
      t.ok({ method: "GET", path: "/moved" }, "get"),
      (e) => isRiposteError(e) && /HTTP 302/.test(e.message),
    );
    assert.equal(server.requests.length, 2);
  } finally {
    await server.close();
  }
});

test("a refused connection is a retriable connector error", async () => {
  const closed = await startFake(() => ({ status: 200 }));
  await closed.close();
  await assert.rejects(
    new HttpTransport("Vendor", closed.url).send({ method: "GET", path: "/" }),
    (e) => isRiposteError(e) && e.code === "RIPOSTE_CONNECTOR_UNAVAILABLE" && /ECONNREFUSED/.test(e.message),
  );
});

test("an answer's headers read as a Headers: names in any case, a repeated header with every value", async () => {
  const { createServer } = await import("node:http");
  const server = createServer((_req, res) => {
    res.setHeader("Retry-After", "7");
    res.setHeader("Set-Cookie", ["a=1", "b=2"]);
    res.setHeader("X-Many", ["x", "y"]);
    res.setHeader("content-type", "application/json; charset=utf-8");
    res.end('{"ok":true}');
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const { port } = server.address() as { port: number };
    const res = await new HttpTransport("Vendor", `http://127.0.0.1:${port}`).send({ method: "GET", path: "/" });
    assert.deepEqual(res.body, { ok: true });
    assert.ok(res.headers instanceof Headers);
    assert.equal(res.headers, res.headers, "made once");
    assert.equal(res.headers.get("retry-after"), "7");
    assert.equal(res.headers.get("RETRY-AFTER"), "7");
    assert.deepEqual(res.headers.getSetCookie(), ["a=1", "b=2"]);
    assert.equal(res.headers.get("x-many"), "x, y");
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});
