/**
 * Requests for the ingest API fuzz target: hostile bodies plain and gzipped, gzip bombs, wrong and mismatched
 * Content-Encoding, odd Content-Types, repeated and malformed query parameters, odd source names, bad tokens and
 * signatures; and the bytes and headers each one is sent with.
 */
import fc from "fast-check";
import { gzipSync } from "node:zlib";
import { signRequest } from "../../services/api/auth.ts";
import { bodyArb, renderBody, type BodyInput } from "./bodies.ts";
import { foldString } from "./describe.ts";

export const TOKEN = "fuzz-api-token-0123456789abcdef";
export const SOURCE_TOKEN = "fuzz-suricata-token-0123456789";
export const SECRET = "fuzz-hmac-secret-0123456789abcdef";
export const MAX_BODY = 10 * 1024 * 1024;

const SOURCES = [
  "fuzz",
  "fuzz",
  "suricata",
  "edr",
  "signed",
  "cef",
  "leef",
  "checkpoint",
  "crowdstrike",
  "SURICATA",
  "__proto__",
  "constructor",
  "hasOwnProperty",
  "a".repeat(64),
  "a".repeat(65),
  "a".repeat(5000),
  "..",
  ".",
  "%2e%2e",
  "%00",
  "%E0%A4%A",
  "%ZZ",
  "s%20p",
  "%F0%9F%98%80",
  "x;y",
  "a%2Fb",
  "-",
  "",
];

const QUERIES = [
  "",
  "",
  "",
  "?format=suricata_eve",
  "?format=cef",
  "?format=leef",
  "?format=crowdstrike_falcon",
  "?format=nope",
  "?format=a&format=b",
  "?format=cef&format=cef",
  "?format=",
  "?format",
  "?format[]=cef",
  "?format[a]=b",
  "?format=__proto__",
  "?format=constructor",
  "?__proto__=x",
  "?format=%ZZ",
  "?format=%00",
  `?format=${"a".repeat(10_000)}`,
  `?${"x=1&".repeat(2_000)}`,
  "?format=cef#frag",
];

const ENCODINGS = [
  undefined,
  undefined,
  "gzip",
  "gzip",
  "GZIP",
  " gzip ",
  "x-gzip",
  "gzip, identity",
  "gzip;q=1.0",
  "deflate",
  "br",
  "zstd",
  "identity",
  "",
];

const CONTENT_TYPES = [
  "application/json",
  "application/json",
  "application/x-ndjson",
  "text/plain",
  "application/json; charset=utf-16",
  "multipart/form-data; boundary=x",
  "application/octet-stream",
  "*/*",
  "",
  undefined,
];

type Compression = "none" | "gzip" | "gzip-twice" | "gzip-truncated" | "gzip-trailing-garbage" | "gzip-members";
type Auth = "api" | "source" | "wrong" | "missing" | "basic" | "empty-bearer";
type Signature = "valid" | "stale" | "future" | "bad" | "none" | "reused";

/** What the request body is: a fuzzed body, a precomputed gzip bomb, or many copies of one short line. */
type Payload =
  | { readonly k: "body"; readonly body: BodyInput }
  | { readonly k: "bomb"; readonly bomb: number }
  | { readonly k: "lines"; readonly line: string; readonly count: number };

export interface ApiInput {
  readonly source: string;
  readonly query: string;
  readonly auth: Auth;
  readonly signature: Signature;
  readonly contentType: string | undefined;
  readonly encoding: string | undefined;
  readonly compression: Compression;
  readonly payload: Payload;
}

interface Bomb {
  readonly what: string;
  readonly gz: Buffer;
}

let bombs: Bomb[] | undefined;

/** Gzip bombs, built once: over the limit, far over it, nested, and inflating to very many tiny lines. */
export function gzipBombs(): Bomb[] {
  bombs ??= [
    { what: "zeros, 1 byte over the body limit", gz: gzipSync(Buffer.alloc(MAX_BODY + 1), { level: 9 }) },
    { what: "zeros, 100 MiB", gz: gzipSync(Buffer.alloc(100 * 1024 * 1024), { level: 9 }) },
    {
      what: "gzip of a gzip of 100 MiB of zeros",
      gz: gzipSync(gzipSync(Buffer.alloc(100 * 1024 * 1024), { level: 9 })),
    },
    { what: '"a\\n" × 6 Mi (12 MiB)', gz: gzipSync(Buffer.from("a\n".repeat(6 * 1024 * 1024)), { level: 9 }) },
    {
      what: '"{\\n" just under the body limit',
      gz: gzipSync(Buffer.from("{\n".repeat(MAX_BODY / 2 - 1)), { level: 9 }),
    },
    { what: '"a\\n" × 49,999 (under the event limit)', gz: gzipSync(Buffer.from("a\n".repeat(49_999)), { level: 9 }) },
    { what: '"a\\n" × 50,001 (over the event limit)', gz: gzipSync(Buffer.from("a\n".repeat(50_001)), { level: 9 }) },
    { what: '"[" × 10 MiB - 1', gz: gzipSync(Buffer.from("[".repeat(MAX_BODY - 1)), { level: 9 }) },
    {
      what: '"{" lines and one "}" under the limit',
      gz: gzipSync(Buffer.from(`${"{\n".repeat(1_000_000)}}\n`), { level: 9 }),
    },
  ];
  return bombs;
}

function compress(plain: Buffer, how: Compression): Buffer {
  switch (how) {
    case "none":
      return plain;
    case "gzip":
      return gzipSync(plain);
    case "gzip-twice":
      return gzipSync(gzipSync(plain));
    case "gzip-truncated": {
      const gz = gzipSync(plain);
      return gz.subarray(0, Math.max(1, Math.floor(gz.length / 2)));
    }
    case "gzip-trailing-garbage":
      return Buffer.concat([gzipSync(plain), Buffer.from("garbage\x00\xff")]);
    case "gzip-members": {
      const half = Math.floor(plain.length / 2);
      return Buffer.concat([gzipSync(plain.subarray(0, half)), gzipSync(plain.subarray(half))]);
    }
  }
}

/** The bytes sent, and the body they stand for (before compression; undefined for bombs, which are only sent). */
export function materialize(input: ApiInput): { sent: Buffer; plain: Buffer | undefined } {
  const p = input.payload;
  if (p.k === "bomb") return { sent: gzipBombs()[p.bomb % gzipBombs().length]!.gz, plain: undefined };
  const plain = p.k === "body" ? p.body.bytes : Buffer.from(`${p.line}\n`.repeat(p.count));
  return { sent: compress(plain, input.compression), plain };
}

export function headersOf(input: ApiInput, url: string, sent: Buffer, now: number): Record<string, string> {
  const h: Record<string, string> = {};
  const auth: Record<Auth, string | undefined> = {
    api: `Bearer ${TOKEN}`,
    source: `Bearer ${SOURCE_TOKEN}`,
    wrong: "Bearer not-the-token-0123456789",
    missing: undefined,
    basic: "Basic Zm9vOmJhcg==",
    "empty-bearer": "Bearer ",
  };
  const a = auth[input.auth];
  if (a !== undefined) h["authorization"] = a;
  if (input.contentType !== undefined) h["content-type"] = input.contentType;
  if (input.encoding !== undefined) h["content-encoding"] = input.encoding;
  const sig: Record<Signature, string | undefined> = {
    valid: signRequest("POST", url, sent, SECRET, now),
    reused: signRequest("POST", url, sent, SECRET, now),
    stale: signRequest("POST", url, sent, SECRET, now - 3_600_000),
    future: signRequest("POST", url, sent, SECRET, now + 3_600_000),
    bad: `t=${Math.floor(now / 1000)},v1=${"0".repeat(64)}`,
    none: undefined,
  };
  const s = sig[input.signature];
  if (s !== undefined) h["x-riposte-signature"] = s;
  return h;
}

export function apiInputArb(): fc.Arbitrary<ApiInput> {
  const payload: fc.Arbitrary<Payload> = fc.oneof(
    { weight: 12, arbitrary: bodyArb().map((body) => ({ k: "body" as const, body })) },
    { weight: 1, arbitrary: fc.record({ k: fc.constant("bomb" as const), bomb: fc.nat({ max: 8 }) }) },
    {
      weight: 1,
      arbitrary: fc.record({
        k: fc.constant("lines" as const),
        line: fc.constantFrom("a", "{", "[", "CEF:0|a|b|c|d|e|5|src=10.0.0.1", '{"event_type":"alert"}', " ", "\u00e9"),
        count: fc.oneof(fc.integer({ min: 1, max: 2_000 }), fc.integer({ min: 2_000, max: 60_000 })),
      }),
    },
  );
  return fc.record({
    source: fc.constantFrom(...SOURCES),
    query: fc.constantFrom(...QUERIES),
    auth: fc.constantFrom<Auth>(
      "api",
      "api",
      "api",
      "api",
      "api",
      "api",
      "source",
      "wrong",
      "missing",
      "basic",
      "empty-bearer",
    ),
    signature: fc.constantFrom<Signature>("valid", "valid", "valid", "reused", "stale", "future", "bad", "none"),
    contentType: fc.constantFrom(...CONTENT_TYPES),
    encoding: fc.constantFrom(...ENCODINGS),
    compression: fc.constantFrom<Compression>(
      "none",
      "none",
      "gzip",
      "gzip",
      "gzip-twice",
      "gzip-truncated",
      "gzip-trailing-garbage",
      "gzip-members",
    ),
    payload,
  });
}

/** A request as one report line and its payload. */
export function renderRequest(i: ApiInput): string {
  const p = i.payload;
  const what =
    p.k === "body"
      ? renderBody(p.body)
      : p.k === "bomb"
        ? `gzip bomb: ${gzipBombs()[p.bomb % gzipBombs().length]!.what}`
        : `${JSON.stringify(p.line)} lines × ${p.count}`;
  return `POST /v1/alerts/${foldString(i.source, 60)}${foldString(i.query, 80)} auth=${i.auth} signature=${i.signature} content-type=${JSON.stringify(i.contentType)} content-encoding=${JSON.stringify(i.encoding)} compression=${i.compression}\n  payload: ${what}`;
}
