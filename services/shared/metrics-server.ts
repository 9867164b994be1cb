/**
 * `GET /metrics` for services that serve no API (correlator, executor): a bare HTTP listener on
 * RIPOSTE_METRICS_PORT, authenticated with the API token like the API's own `/metrics`. Anything else is 404.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { bearerOf, safeEqual } from "../api/auth.ts";
import type { Metrics } from "./metrics.ts";

export interface MetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startMetricsServer(opts: {
  host: string;
  port: number;
  token: string;
  metrics: Metrics;
}): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "").split("?")[0];
    const send = (status: number, body: string, type = "application/json") => {
      res.writeHead(status, { "content-type": type });
      res.end(body);
    };
    if (req.method !== "GET" || path !== "/metrics") {
      return send(404, JSON.stringify({ error: { code: "RIPOSTE_NOT_FOUND", message: "only GET /metrics here" } }));
    }
    const token = bearerOf(req.headers.authorization);
    if (!token || !safeEqual(token, opts.token)) {
      return send(
        401,
        JSON.stringify({ error: { code: "RIPOSTE_AUTH_INVALID", message: "send Authorization: Bearer <API token>" } }),
      );
    }
    opts.metrics.prometheusText().then(
      (text) => send(200, text, "text/plain; version=0.0.4; charset=utf-8"),
      () => send(500, JSON.stringify({ error: { code: "RIPOSTE_INTERNAL", message: "metrics collection failed" } })),
    );
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
