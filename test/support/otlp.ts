/**
 * A local OTLP/HTTP receiver for tests: accepts `POST /v1/traces` in JSON or protobuf (ExportTraceServiceRequest),
 * decodes each span's ids, parent, name and attributes, and answers as a Collector does.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";

export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer (0 unspecified). */
  readonly kind: number;
  readonly service: string;
  readonly attributes: Record<string, string | number | boolean>;
  readonly links: ReadonlyArray<{ traceId: string; spanId: string }>;
  readonly encoding: "json" | "protobuf";
}

export interface OtlpReceiver {
  readonly url: string;
  readonly spans: ReceivedSpan[];
  readonly requests: Array<{ path: string; contentType: string }>;
  /** Spans and bytes received. */
  readonly counted: { spans: number; bytes: number };
  close(): Promise<void>;
}

/** Protobuf wire format, just enough for OTLP traces: varints, length-delimited fields, fixed64/32 skipped. */
function fields(buf: Buffer): Array<{ no: number; wire: number; value: Buffer | bigint }> {
  const out: Array<{ no: number; wire: number; value: Buffer | bigint }> = [];
  let i = 0;
  const varint = (): bigint => {
    let shift = 0n;
    let v = 0n;
    for (;;) {
      const b = buf[i++];
      if (b === undefined) throw new Error("truncated varint");
      v |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return v;
      shift += 7n;
    }
  };
  while (i < buf.length) {
    const key = Number(varint());
    const no = key >>> 3;
    const wire = key & 7;
    if (wire === 0) out.push({ no, wire, value: varint() });
    else if (wire === 2) {
      const len = Number(varint());
      out.push({ no, wire, value: buf.subarray(i, i + len) });
      i += len;
    } else if (wire === 1) {
      out.push({ no, wire, value: buf.subarray(i, i + 8) });
      i += 8;
    } else if (wire === 5) {
      out.push({ no, wire, value: buf.subarray(i, i + 4) });
      i += 4;
    } else throw new Error(`unsupported wire type ${wire}`);
  }
  return out;
}
const sub = (f: Array<{ no: number; value: Buffer | bigint }>, no: number) =>
  f.filter((x) => x.no === no && Buffer.isBuffer(x.value)).map((x) => x.value as Buffer);
const str = (f: Array<{ no: number; value: Buffer | bigint }>, no: number) => sub(f, no)[0]?.toString("utf8") ?? "";
const hex = (f: Array<{ no: number; value: Buffer | bigint }>, no: number) => sub(f, no)[0]?.toString("hex") ?? "";

/** AnyValue: string 1, bool 2, int 3, double 4. */
function anyValue(b: Buffer): string | number | boolean {
  const f = fields(b)[0];
  if (!f) return "";
  if (f.no === 1 && Buffer.isBuffer(f.value)) return f.value.toString("utf8");
  if (f.no === 2) return f.value === 1n;
  if (f.no === 3) return Number(f.value);
  if (f.no === 4 && Buffer.isBuffer(f.value)) return f.value.readDoubleLE(0);
  return "";
}
function keyValues(bufs: Buffer[]): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const kv of bufs) {
    const f = fields(kv);
    const v = sub(f, 2)[0];
    out[str(f, 1)] = v ? anyValue(v) : "";
  }
  return out;
}

function decodeProtobuf(body: Buffer): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  for (const rs of sub(fields(body), 1)) {
    const rsf = fields(rs);
    const resource = sub(rsf, 1)[0];
    const service = String(resource ? (keyValues(sub(fields(resource), 1))["service.name"] ?? "") : "");
    for (const ss of sub(rsf, 2)) {
      for (const sp of sub(fields(ss), 2)) {
        const f = fields(sp);
        spans.push({
          traceId: hex(f, 1),
          spanId: hex(f, 2),
          parentSpanId: hex(f, 4),
          name: str(f, 5),
          kind: Number(f.find((x) => x.no === 6 && typeof x.value === "bigint")?.value ?? 0),
          service,
          attributes: keyValues(sub(f, 9)),
          links: sub(f, 13).map((l) => {
            const lf = fields(l);
            return { traceId: hex(lf, 1), spanId: hex(lf, 2) };
          }),
          encoding: "protobuf",
        });
      }
    }
  }
  return spans;
}

interface JsonAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number;
}
interface JsonSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind?: number;
  attributes?: Array<{ key: string; value: JsonAnyValue }>;
  links?: Array<{ traceId: string; spanId: string }>;
}
interface JsonRequest {
  resourceSpans?: Array<{
    resource?: { attributes?: Array<{ key: string; value: JsonAnyValue }> };
    scopeSpans?: Array<{ spans?: JsonSpan[] }>;
  }>;
}

/** OTLP/JSON ids are hex strings (the spec); some encoders send base64: both are accepted. */
const idOf = (s: string | undefined, bytes: number) =>
  !s
    ? ""
    : new RegExp(`^[0-9a-f]{${bytes * 2}}$`, "i").test(s)
      ? s.toLowerCase()
      : Buffer.from(s, "base64").toString("hex");
const jsonValue = (v: JsonAnyValue) =>
  v.stringValue ?? v.boolValue ?? (v.intValue !== undefined ? Number(v.intValue) : (v.doubleValue ?? ""));

function decodeJson(body: Buffer): ReceivedSpan[] {
  const req = JSON.parse(body.toString("utf8")) as JsonRequest;
  const spans: ReceivedSpan[] = [];
  for (const rs of req.resourceSpans ?? []) {
    const service = String(
      jsonValue(rs.resource?.attributes?.find((a) => a.key === "service.name")?.value ?? { stringValue: "" }),
    );
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        spans.push({
          traceId: idOf(s.traceId, 16),
          spanId: idOf(s.spanId, 8),
          parentSpanId: idOf(s.parentSpanId, 8),
          name: s.name,
          kind: s.kind ?? 0,
          service,
          attributes: Object.fromEntries((s.attributes ?? []).map((a) => [a.key, jsonValue(a.value)])),
          links: (s.links ?? []).map((l) => ({ traceId: idOf(l.traceId, 16), spanId: idOf(l.spanId, 8) })),
          encoding: "json",
        });
      }
    }
  }
  return spans;
}

/** Spans in an ExportTraceServiceRequest (protobuf), counted without decoding them. */
function countProtobufSpans(body: Buffer): number {
  let n = 0;
  for (const rs of sub(fields(body), 1)) for (const ss of sub(fields(rs), 2)) n += sub(fields(ss), 2).length;
  return n;
}

/**
 * Starts the receiver. With `decode: false` (the bench) spans are only counted (`counted`), as cheaply as a
 * Collector that forwards them, and `spans` stays empty.
 */
export async function startOtlpReceiver(opts: { decode?: boolean } = {}): Promise<OtlpReceiver> {
  const decode = opts.decode !== false;
  const spans: ReceivedSpan[] = [];
  const counted = { spans: 0, bytes: 0 };
  const requests: Array<{ path: string; contentType: string }> = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      let body = Buffer.concat(chunks);
      if (req.headers["content-encoding"] === "gzip") body = gunzipSync(body);
      const contentType = String(req.headers["content-type"] ?? "");
      requests.push({ path: req.url ?? "", contentType });
      if (req.url === "/v1/traces") {
        try {
          counted.bytes += body.length;
          if (!decode && !contentType.includes("json")) counted.spans += countProtobufSpans(body);
          else {
            const got = contentType.includes("json") ? decodeJson(body) : decodeProtobuf(body);
            counted.spans += got.length;
            if (decode) spans.push(...got);
          }
        } catch {
          res.writeHead(400).end();
          return;
        }
      }
      if (contentType.includes("json")) res.writeHead(200, { "content-type": "application/json" }).end("{}");
      else res.writeHead(200, { "content-type": "application/x-protobuf" }).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    requests,
    counted,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
