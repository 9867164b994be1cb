/**
 * External dynamic lists served by Riposte (`GET /v1/edl/{name}`): named lists of IP addresses and CIDR blocks that
 * firewalls (PAN-OS, FortiGate, Check Point) poll. A list is a timeline in shared state whose members are block and
 * unblock events (`block <entry> <until>`, `unblock <entry> <at>`) at their event time; an entry is listed when its
 * latest event is a block whose expiry is still ahead. Appending is atomic in both stores, so executors adding and
 * removing entries at once never lose each other's writes (a read-modify-write of one value would).
 */
import { isIP } from "node:net";
import { EDL_NAME } from "../../../shared/config.ts";
import { stateKey, type StateStore } from "../../../shared/state/index.ts";
import { canonicalIp, parseCidr } from "../../protected.ts";

export { EDL_NAME };

/** The longest an entry may stay listed; events older than this are dropped (their blocks have expired). */
export const EDL_MAX_TTL_MS = 30 * 86_400_000;
/** Most events one list keeps (the newest); far above what a firewall's list capacity takes. */
const MAX_EVENTS = 100_000;

const hex = (n: bigint) => Array.from({ length: 8 }, (_, i) => ((n >> BigInt(112 - 16 * i)) & 0xffffn).toString(16));

/**
 * The canonical text of an IP address or CIDR block, or undefined when it is neither: dotted quads, RFC 5952
 * IPv6, IPv4-mapped IPv6 (`::ffff:203.0.113.7`, `::ffff:10.0.0.0/104`) as IPv4, host bits of a block cleared
 * (`10.1.2.3/8` is `10.0.0.0/8`), and a full-length block (`/32`, `/128`) as the plain address. Loose IPv4
 * spellings (`010.1`, `0x7f.1`) are refused: a firewall would read them differently than a person.
 */
export function canonicalEntry(raw: string): string | undefined {
  const s = raw.trim();
  if (!s.includes("/")) return isIP(s) === 0 ? undefined : canonicalIp(s);
  const addr = s.slice(0, s.indexOf("/"));
  if (isIP(addr) === 0) return undefined;
  const c = parseCidr(s);
  if (!c) return undefined;
  if (c.v === 4) {
    const ip = [24n, 16n, 8n, 0n].map((b) => String((c.base >> b) & 0xffn)).join(".");
    return c.bits === 32 ? ip : `${ip}/${c.bits}`;
  }
  const ip = canonicalIp(hex(c.base).join(":")) as string;
  return c.bits === 128 ? ip : `${ip}/${c.bits}`;
}

/** The state key of a list (its own hash tag: one list, one Redis Cluster slot). */
export function edlKey(prefix: string, name: string): string {
  return stateKey(prefix, `edl:${name}`, "edl", "events");
}

async function addEvent(state: StateStore, key: string, member: string, nowMs: number): Promise<void> {
  await state.append(key, [{ member, time: nowMs }], nowMs - EDL_MAX_TTL_MS, MAX_EVENTS, EDL_MAX_TTL_MS + 86_400_000);
}

/** Lists `entry` (canonical) in list `name` until `untilMs`. */
export function addEntry(
  state: StateStore,
  prefix: string,
  name: string,
  entry: string,
  untilMs: number,
  nowMs: number,
): Promise<void> {
  return addEvent(state, edlKey(prefix, name), `block ${entry} ${untilMs}`, nowMs);
}

/** Lists many entries (canonical) in list `name`, each until its own time, in one state operation. */
export async function addEntries(
  state: StateStore,
  prefix: string,
  name: string,
  entries: ReadonlyArray<{ readonly entry: string; readonly untilMs: number }>,
  nowMs: number,
): Promise<void> {
  const events = entries.map((e) => ({ member: `block ${e.entry} ${e.untilMs}`, time: nowMs }));
  await state.append(edlKey(prefix, name), events, nowMs - EDL_MAX_TTL_MS, MAX_EVENTS, EDL_MAX_TTL_MS + 86_400_000);
}

/** Takes `entry` (canonical) off list `name` from `nowMs` on. */
export function removeEntry(state: StateStore, prefix: string, name: string, entry: string, nowMs: number) {
  return addEvent(state, edlKey(prefix, name), `unblock ${entry} ${nowMs}`, nowMs);
}

export interface ListedEntry {
  readonly entry: string;
  /** When it leaves the list (ms since the epoch). */
  readonly until: number;
}

/** The entries of list `name` listed at `nowMs`, sorted (expired and unblocked ones left out). */
export async function listEntries(
  state: StateStore,
  prefix: string,
  name: string,
  nowMs: number,
): Promise<ListedEntry[]> {
  const latest = new Map<string, { block: boolean; until: number }>();
  // Oldest first: the last event of an entry wins.
  for (const { member } of await state.recall(edlKey(prefix, name))) {
    const [op, entry, n] = member.split(" ");
    if (entry === undefined || (op !== "block" && op !== "unblock")) continue;
    latest.set(entry, { block: op === "block", until: Number(n) });
  }
  return [...latest]
    .filter(([, e]) => e.block && e.until > nowMs)
    .map(([entry, e]) => ({ entry, until: e.until }))
    .sort((a, b) => (a.entry < b.entry ? -1 : a.entry > b.entry ? 1 : 0));
}

/** The list as firewalls read it: one address or block a line, newline-terminated; empty for an empty list. */
export function edlText(entries: readonly ListedEntry[]): string {
  return entries.map((e) => `${e.entry}\n`).join("");
}
