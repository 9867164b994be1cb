import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MemoryState } from "../shared/state/index.ts";
import { isRiposteError } from "../shared/errors.ts";
import { parseBreakers, parseBudgets, parseRateLimits } from "./guard-config.ts";
import { Guards, defaultGuardSettings } from "./guards.ts";
import { CircuitBreaker } from "./limits.ts";
import {
  ProtectedAssets,
  canonicalHost,
  canonicalIp,
  loadProtectedFile,
  parseCidr,
  parseProtectedEntries,
} from "./protected.ts";

const empty = { hosts: [], users: [], ips: [], cidrs: [] };

test("canonical addresses: IPv4-mapped IPv6 in every spelling is the IPv4 address", () => {
  for (const s of ["10.0.0.1", "::ffff:10.0.0.1", "::ffff:a00:1", "0:0:0:0:0:ffff:a00:1", "[::FFFF:A00:1]"])
    assert.equal(canonicalIp(s), "10.0.0.1", s);
  assert.equal(canonicalIp("2001:DB8:0:0:0:0:0:1"), "2001:db8::1");
  assert.equal(canonicalIp("fe80::1%eth0"), "fe80::1");
  assert.equal(canonicalIp("web-01"), undefined);
  assert.equal(canonicalHost(" DC01.Corp.Example. "), "dc01.corp.example");
});

test("protected assets: a host given upper-case with a trailing dot, or an address as ::ffff:, is protected", () => {
  const p = new ProtectedAssets({
    hosts: ["dc01.corp.example", "jump01"],
    users: ["administrator", "CORP\\svc-backup"],
    ips: ["10.0.0.1"],
    cidrs: ["192.168.10.0/24", "fd00:1::/32"],
  });
  const host = (value: string) => p.checkTarget({ type: "host", value });
  assert.match(host("DC01.CORP.EXAMPLE.") ?? "", /host dc01\.corp\.example/);
  assert.ok(host("dc01"), "a bare name matches the qualified protected name");
  assert.ok(host("JUMP01.corp.example"), "a qualified name matches a bare protected name");
  assert.equal(host("dc02.corp.example"), undefined);
  assert.equal(host("dc01.corp.example.evil"), undefined, "not a suffix game");
  for (const v of ["::ffff:10.0.0.1", "::ffff:a00:1", "10.0.0.1", "[::ffff:10.0.0.1]"]) {
    assert.ok(host(v), `${v} as a host target`);
    assert.ok(p.checkTarget({ type: "ip", value: v }), `${v} as an ip target`);
  }
  assert.ok(host("::ffff:192.168.10.77"), "inside a protected CIDR, mapped");
  assert.ok(host("fd00:1:2::5"), "inside a protected IPv6 block");
  assert.equal(host("10.0.0.2"), undefined);
  assert.ok(host("010.0.0.1"), "a zero-padded address read as decimal");
  assert.ok(
    new ProtectedAssets({ ...empty, ips: ["8.0.0.1"] }).checkTarget({ type: "host", value: "010.0.0.1" }),
    "and as inet_aton reads it",
  );
  assert.ok(host("0x0a000001") && host("10.1"), "hex spelling, and 10.1, which inet_aton reads as 10.0.0.1");
  assert.ok(p.checkTarget({ type: "ip", value: "10.0.0.01" }), "decimal reading of a zero-padded address");
  assert.ok(p.checkTarget({ type: "user", value: "CORP\\Administrator" }), "bare protected user in any domain");
  assert.ok(p.checkTarget({ type: "email", value: "Administrator@corp.example" }));
  assert.ok(p.checkTarget({ type: "user", value: "corp\\SVC-BACKUP" }));
  assert.equal(p.checkTarget({ type: "user", value: "other\\svc-backup" }), undefined, "a qualified entry is exact");
  assert.ok(p.checkResolved({ hosts: ["DC01.corp.example"] }), "what the vendor resolved is checked too");
  assert.ok(p.checkResolved({ hosts: ["ws-7"], ips: ["::ffff:10.0.0.1"] }));
  assert.equal(p.checkResolved({ hosts: ["ws-7"], ips: ["10.9.9.9"] }), undefined);
});

test("CIDRs parse in both families and as mapped IPv6 blocks", () => {
  assert.deepEqual(parseCidr("10.1.2.3/8"), { v: 4, base: 10n << 24n, bits: 8 });
  assert.equal(parseCidr("::ffff:10.0.0.0/104")?.bits, 8);
  assert.equal(parseCidr("10.0.0.0/33"), undefined);
  assert.equal(parseCidr("web-01/24"), undefined);
});

test("RIPOSTE_PROTECTED entries are typed or recognised, and bad addresses are reported", () => {
  const { list, problems } = parseProtectedEntries("host:dc01, 10.0.0.1, 10.1.0.0/16, user:admin, jump01, ip:nope");
  assert.deepEqual(list, {
    hosts: ["dc01", "jump01"],
    users: ["admin"],
    ips: ["10.0.0.1", "nope"],
    cidrs: ["10.1.0.0/16"],
  });
  assert.deepEqual(problems, ['"nope" is not an IP address']);
});

test("the protected-assets file is checked; an absent file protects nothing", async () => {
  const dir = await mkdtemp(join(tmpdir(), "riposte-protected-"));
  try {
    assert.deepEqual(await loadProtectedFile(join(dir, "none.yaml")), { hosts: [], users: [], ips: [], cidrs: [] });
    const file = join(dir, "protected.yaml");
    await writeFile(file, "hosts: [dc01]\nips: ['::ffff:10.0.0.1']\n");
    assert.deepEqual((await loadProtectedFile(file)).ips, ["::ffff:10.0.0.1"]);
    await writeFile(file, "hosts: [dc01]\ncidrs: [10.0.0.0/40]\n");
    await assert.rejects(loadProtectedFile(file), /not a CIDR block/);
    await writeFile(file, "hostz: [dc01]\n");
    await assert.rejects(loadProtectedFile(file), (e) => isRiposteError(e) && e.code === "RIPOSTE_RULE_INVALID");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("budget, rate-limit and breaker syntax", () => {
  const b = parseBudgets(
    "containment:20/10m, crowdstrike.contain_host:5/1h, rule:*:containment:5/10m, rule:r-1:notify:3/1m",
  );
  assert.deepEqual(b.problems, []);
  assert.deepEqual(
    b.value.map((s) => [s.rule, s.what, s.limit, s.windowMs]),
    [
      [undefined, "containment", 20, 600_000],
      [undefined, "crowdstrike.contain_host", 5, 3_600_000],
      ["*", "containment", 5, 600_000],
      ["r-1", "notify", 3, 60_000],
    ],
  );
  assert.equal(parseBudgets("containment:0/10m,containment:5,containment:5/0s,Bad:1/1m").problems.length, 4);
  assert.deepEqual(parseRateLimits("crowdstrike:100/1s,*:10/1s").value, [
    { connector: "crowdstrike", capacity: 100, intervalMs: 1_000 },
    { connector: "*", capacity: 10, intervalMs: 1_000 },
  ]);
  assert.equal(parseRateLimits("crowdstrike:1/1s,crowdstrike:2/1s").problems.length, 1, "listed twice");
  assert.deepEqual(parseBreakers("*:5/30s").value, [{ connector: "*", failures: 5, openMs: 30_000 }]);
});

test("budgets: global and per rule; a refusal gives back what it took", async () => {
  let now = 1_000_000;
  const guards = new Guards({
    state: new MemoryState(),
    prefix: "t-budget",
    settings: defaultGuardSettings({ budgets: parseBudgets("containment:3/10m,rule:*:containment:2/10m").value }),
    now: () => now,
  });
  const subject = (rule: string) => ({
    rule,
    classification: "containment" as const,
    connector: "crowdstrike",
    action: "contain_host",
  });
  const take = async (id: string, rule: string) => (await guards.takeBudgets(id, subject(rule))).refused?.spec.text;
  assert.equal(await take("a1", "r1"), undefined);
  assert.equal(await take("a2", "r1"), undefined);
  assert.equal(await take("a3", "r1"), "rule:*:containment:2/10m", "the rule's third");
  assert.equal(await take("a4", "r2"), undefined, "the global place a3 took was given back");
  assert.equal(await take("a5", "r2"), "containment:3/10m", "the global fourth");
  const notify = await guards.takeBudgets("n1", { ...subject("r1"), classification: "notify", action: "post" });
  assert.equal(notify.refused, undefined, "other classes are not counted");
  now += 600_001;
  assert.equal(await take("a6", "r1"), undefined, "the window moved on");
});

test("the kill switch: configuration or API; the API state is shared through state", async () => {
  const state = new MemoryState();
  const a = new Guards({ state, prefix: "t-ks", settings: defaultGuardSettings() });
  const b = new Guards({ state, prefix: "t-ks", settings: defaultGuardSettings() });
  assert.equal((await a.killSwitch()).on, false);
  await a.setKillSwitch(true, "forged detections");
  const seen = await b.killSwitch();
  assert.equal(seen.on, true, "another executor sees it");
  assert.equal(seen.api.reason, "forged detections");
  await b.setKillSwitch(false);
  assert.equal((await a.killSwitch()).on, false);
  const forced = new Guards({ state, prefix: "t-ks", settings: defaultGuardSettings({ killSwitch: true }) });
  const f = await forced.killSwitch();
  assert.deepEqual([f.on, f.config, f.api.on], [true, true, false], "configuration holds it on");
});

test("the circuit breaker opens after N failures, lets one probe through when half-open", () => {
  let now = 0;
  const br = new CircuitBreaker({ failures: 2, openMs: 1_000 }, () => now);
  assert.equal(br.admit(), 0);
  br.failed();
  assert.equal(br.admit(), 0, "one failure: still closed");
  br.failed();
  assert.equal(br.state, "open");
  assert.equal(br.admit(), 1_000);
  now = 1_000;
  assert.equal(br.state, "half_open");
  assert.equal(br.admit(), 0, "the probe");
  assert.ok(br.admit() > 0, "only one probe at a time");
  br.failed();
  assert.equal(br.state, "open", "a failed probe opens it again");
  now = 2_000;
  assert.equal(br.admit(), 0);
  br.succeeded();
  assert.equal(br.state, "closed");
});

test("configuration: guard variables are validated at start, with defaults", async () => {
  const { loadConfig } = await import("../shared/config.ts");
  const d = loadConfig({}).guards;
  assert.deepEqual(
    d.budgets.map((b) => b.text),
    ["containment:20/10m", "rule:*:containment:10/10m"],
  );
  assert.equal(d.maxDecisionAgeMs, 3_600_000);
  assert.equal(d.killSwitch, false);
  const c = loadConfig({
    RIPOSTE_BUDGETS: "none",
    RIPOSTE_KILL_SWITCH: "on",
    RIPOSTE_PROTECTED: "dc01,::ffff:10.0.0.1",
    RIPOSTE_MAX_DECISION_AGE: "15m",
    RIPOSTE_RATE_LIMITS: "crowdstrike:100/1m",
    RIPOSTE_CIRCUIT_BREAKERS: "none",
  }).guards;
  assert.deepEqual(c.budgets, []);
  assert.equal(c.killSwitch, true);
  assert.deepEqual([c.protected.hosts, c.protected.ips], [["dc01"], ["::ffff:10.0.0.1"]]);
  assert.equal(c.maxDecisionAgeMs, 900_000);
  assert.deepEqual(c.rateLimits, [{ connector: "crowdstrike", capacity: 100, intervalMs: 60_000 }]);
  assert.deepEqual(c.breakers, []);
  assert.throws(
    () =>
      loadConfig({
        RIPOSTE_BUDGETS: "containment:lots",
        RIPOSTE_KILL_SWITCH: "maybe",
        RIPOSTE_PROTECTED: "ip:10.0.0.300",
        RIPOSTE_MAX_DECISION_AGE: "0s",
        RIPOSTE_RATE_LIMITS: "crowdstrike",
      }),
    (e) =>
      isRiposteError(e) &&
      [
        "RIPOSTE_BUDGETS",
        "RIPOSTE_KILL_SWITCH",
        "RIPOSTE_PROTECTED",
        "RIPOSTE_MAX_DECISION_AGE",
        "RIPOSTE_RATE_LIMITS",
      ].every((v) => e.message.includes(v)),
  );
});
