/**
 * A firewall that takes IP blocks in batches, as PAN-OS's XML API User-ID does (VENDOR-APIS.md section 3, "Register
 * IP to tag"): `POST /api/` with form fields `type=user-id`, `key` and `cmd=<uid-message>` whose `<register>` holds
 * one `<entry ip="...">` per address; the answer is `<response status="success">`, or `status="error"` with a
 * message per failed entry (`... already exists, ignore` counts as success). Bad key: HTTP 403 with
 * `<response status="error" code="403">`.
 *
 * `fakewallConnector` is a test-only connector for it with a `batch` capability, so coalescing can be measured
 * against HTTP (the PAN-OS connector proper declares its own `batch` the same way).
 */
import { z } from "zod";
import { startFake, type FakeServer } from "./http.ts";
import { RiposteError } from "../../services/shared/errors.ts";
import type { ConnectorDescriptor } from "../../services/executor/connectors/index.ts";

export const FAKEWALL_KEY = "LUFRPT1-fakewall-key-0123456789==";
export const TAG = "riposte-block";

export interface UserIdFake extends FakeServer {
  /** Addresses registered with the tag. */
  readonly registered: Set<string>;
  /** Each register request's entries, in order. */
  readonly batches: string[][];
  /** Addresses the firewall refuses (answered as a per-entry error). */
  readonly refuse: Set<string>;
}

const ENTRY = /<entry ip="([^"]+)">/g;

export async function startUserIdFake(): Promise<UserIdFake> {
  const registered = new Set<string>();
  const batches: string[][] = [];
  const refuse = new Set<string>();
  const fake = await startFake((req) => {
    if (req.method !== "POST" || req.path !== "/api/") return { status: 404, raw: "not found" };
    const form = new URLSearchParams(req.body);
    if (form.get("key") !== FAKEWALL_KEY)
      return {
        status: 403,
        raw: '<response status="error" code="403"><result><msg>Invalid Credential</msg></result></response>',
        headers: { "content-type": "application/xml" },
      };
    const cmd = form.get("cmd") ?? "";
    if (form.get("type") !== "user-id" || !cmd.includes("<register>"))
      return {
        status: 200,
        raw: '<response status="error" code="400"><msg>bad request</msg></response>',
        headers: { "content-type": "application/xml" },
      };
    const ips = [...cmd.matchAll(ENTRY)].map((m) => m[1] as string);
    batches.push(ips);
    const failed: string[] = [];
    for (const ip of ips) {
      if (refuse.has(ip)) failed.push(`<entry ip="${ip}" message="max registered-ip for the platform reached"/>`);
      else if (registered.has(ip)) failed.push(`<entry ip="${ip}" message="tag ${TAG} already exists, ignore"/>`);
      else registered.add(ip);
    }
    const body =
      failed.length === 0
        ? '<response status="success"><result><uid-response><version>2.0</version><payload><register/></payload></uid-response></result></response>'
        : `<response status="error"><msg><line><uid-response><version>2.0</version><payload><register>${failed.join("")}</register></payload></uid-response></line></msg></response>`;
    return { status: 200, raw: body, headers: { "content-type": "application/xml" } };
  });
  return Object.assign(fake, { registered, batches, refuse });
}

interface Client {
  readonly url: string;
  readonly key: string;
}

const escape = (s: string) => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** One register message for many addresses; an error per address the firewall refused. */
async function register(client: Client, ips: readonly string[], signal: AbortSignal): Promise<Array<true | Error>> {
  const entries = ips.map((ip) => `<entry ip="${escape(ip)}"><tag><member>${TAG}</member></tag></entry>`).join("");
  const cmd = `<uid-message><version>2.0</version><type>update</type><payload><register>${entries}</register></payload></uid-message>`;
  const res = await fetch(new URL("/api/", client.url), {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ type: "user-id", key: client.key, cmd }).toString(),
    signal,
  });
  const text = await res.text();
  if (res.status === 403) throw new RiposteError("RIPOSTE_CONNECTOR_AUTH", "the firewall refused the API key");
  if (res.status >= 500) throw new RiposteError("RIPOSTE_CONNECTOR_UNAVAILABLE", `the firewall answered ${res.status}`);
  if (text.startsWith('<response status="success"')) return ips.map(() => true);
  const messages = new Map(
    [...text.matchAll(/<entry ip="([^"]+)" message="([^"]*)"\/>/g)].map((m) => [m[1] as string, m[2] as string]),
  );
  if (messages.size === 0) throw new RiposteError("RIPOSTE_CONNECTOR_REJECTED", `the firewall refused: ${text}`);
  return ips.map((ip) => {
    const m = messages.get(ip);
    return m === undefined || m.endsWith("already exists, ignore")
      ? true
      : new RiposteError("RIPOSTE_CONNECTOR_REJECTED", `the firewall refused ${ip}: ${m}`);
  });
}

const Input = z.strictObject({ ip: z.string().min(1).max(64) });

export const fakewallConnector: ConnectorDescriptor<Client> = {
  name: "fakewall",
  title: "A firewall taking User-ID register messages (test fake)",
  credentials: ["api_key"],
  client: (url, credentials) => ({ url, key: credentials["api_key"] ?? "" }),
  actions: {
    block_ip: {
      classification: "containment",
      idempotent: true,
      description: "Tag an address for the block group",
      input: Input,
      run: async (client: Client, { input, signal }) => {
        const [r] = await register(client, [(input as z.infer<typeof Input>).ip], signal);
        if (r instanceof Error) throw r;
        return { registered: (input as z.infer<typeof Input>).ip, tag: TAG };
      },
      batch: {
        max: 500,
        run: async (client: Client, items, signal) => {
          const ips = items.map((i) => (i.input as z.infer<typeof Input>).ip);
          const results = await register(client, ips, signal);
          return results.map((r, i) => (r instanceof Error ? r : { registered: ips[i], tag: TAG }));
        },
      },
    },
  },
};
