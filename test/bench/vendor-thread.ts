/**
 * The vendor fakes of a bench row in a worker thread of their own (support/vendors.ts: CrowdStrike, webhook,
 * Slack), so that their HTTP server work runs on another event loop than the executor being measured, as real
 * vendors would. The main thread gets the connector configuration, asks for the request counts and closes them.
 */
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import type { ConnectorConfig } from "../../services/shared/config.ts";
import { startVendors } from "../support/vendors.ts";

export interface VendorThread {
  readonly connectorConfig: Record<string, ConnectorConfig>;
  /** The webhook fake's URL (a bare endpoint for baselines). */
  readonly webhookUrl: string;
  /** Requests received so far by all the fakes. */
  requests(): Promise<number>;
  close(): Promise<void>;
}

type Reply = { ready: { connectorConfig: Record<string, ConnectorConfig>; webhookUrl: string } } | { count: number };

export async function startVendorThread(devices: Record<string, string>): Promise<VendorThread> {
  const worker = new Worker(new URL(import.meta.url), { workerData: { devices } });
  const replies: Array<(r: Reply) => void> = [];
  worker.on("message", (r: Reply) => replies.shift()?.(r));
  const next = () => new Promise<Reply>((resolve) => replies.push(resolve));
  const ready = (await next()) as Extract<Reply, { ready: unknown }>;
  return {
    ...ready.ready,
    requests: async () => {
      const r = next();
      worker.postMessage("count");
      return ((await r) as Extract<Reply, { count: number }>).count;
    },
    close: async () => {
      await worker.terminate();
    },
  };
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  const vendors = await startVendors((workerData as { devices: Record<string, string> }).devices);
  port.on("message", (m: string) => {
    if (m === "count")
      port.postMessage({
        count: vendors.edr.requests.length + vendors.webhook.requests.length + vendors.slack.requests.length,
      });
  });
  port.postMessage({ ready: { connectorConfig: vendors.connectorConfig, webhookUrl: vendors.webhook.url } });
}
