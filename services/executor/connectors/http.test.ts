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
  const t = new HttpTransport("Vendor", "https://api.example");
  const realFetch = globalThis.fetch;
  globalThis.fetch = (input) => {
    const url = input instanceof URL ? input.href : typeof input === "string" ? input : input.url;
    return Promise.reject(
      new TypeError(`fetch failed for ${url}`, { cause: new Error(`getaddrinfo ENOTFOUND for ${url}`) }),
    );
  };
  try {
    await assert.rejects(t.send({ method: "GET", path: "/v1/q", query: { api_key: SECRET } }), (e) => {
      assert.ok(isRiposteError(e) && e.code === "RIPOSTE_CONNECTOR_UNAVAILABLE" && e.retriable);
      assert.ok(!e.message.includes(SECRET), e.message);
      assert.match(
        e.message,
        /^Vendor GET \/v1\/q: fetch failed for https:\/\/api\.example\/v1\/q\?api_key=\[redacted\]/,
      );
      assert.equal(e.cause, undefined, "the raw fetch error (with the URL) is not attached");
      return true;
    });
  } finally {
    globalThis.fetch = realFetch;
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
