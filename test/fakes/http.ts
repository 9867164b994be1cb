/** A local HTTP server for vendor fakes: records every request, answers from a handler, injects faults. */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface Recorded {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingMessage["headers"];
  readonly body: string;
}

export interface Reply {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  /** Sent as it is instead of `body` as JSON (XML, a malformed JSON body, an HTML error page). */
  readonly raw?: string;
  /** Wait this long before answering (to provoke client timeouts). */
  readonly delayMs?: number;
}

export type Fault = Reply | "drop";

export interface FakeServer {
  readonly url: string;
  readonly requests: Recorded[];
  /** Faults answered, in order, before the handler (one per request), e.g. a 429 then a 500. */
  readonly faults: Fault[];
  /** How many TCP connections clients opened so far (keep-alive reuses them). */
  connections(): number;
  close(): Promise<void>;
}

export async function startFake(handler: (req: Recorded) => Reply): Promise<FakeServer> {
  const requests: Recorded[] = [];
  const faults: Fault[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://fake");
      const rec: Recorded = {
        method: req.method ?? "GET",
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      requests.push(rec);
      const fault = faults.shift();
      if (fault === "drop") {
        req.socket.destroy();
        return;
      }
      const reply = fault ?? handler(rec);
      const send = () => {
        if (res.destroyed) return;
        res.writeHead(reply.status, { "content-type": "application/json", ...reply.headers });
        res.end(reply.raw ?? (reply.body === undefined ? "" : JSON.stringify(reply.body)));
      };
      if (reply.delayMs) setTimeout(send, reply.delayMs).unref();
      else send();
    });
  });
  let connections = 0;
  server.on("connection", () => connections++);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    faults,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
