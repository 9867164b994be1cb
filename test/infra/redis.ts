/**
 * A private `redis-server` for tests, on a free 127.0.0.1 port with no persistence.
 *
 * Script mode: `npx node test/infra/redis.ts start`.
 */
import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exited, freePorts, killWithParent, probe, serveUntilSignal, tail, terminate } from "./proc.ts";

const READY_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 5_000;

/** A running server started by {@link startRedis}. */
export interface RunningRedis {
  /** Connection URL, e.g. `redis://127.0.0.1:40123`. */
  readonly url: string;
  /** SIGTERM (SIGKILL after 5 s) and removal of its temp dir. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts `redis-server` on a free 127.0.0.1 port (no RDB/AOF, temp working dir) and resolves once it answers
 * PING. Throws if `redis-server` is not installed or does not become ready within 10 s.
 * The server is SIGKILLed if this process exits without calling `stop()`.
 */
export async function startRedis(opts: { port?: number; args?: readonly string[] } = {}): Promise<RunningRedis> {
  const dir = await mkdtemp(join(tmpdir(), "riposte-redis-"));
  const port = opts.port ?? (await freePorts(1))[0] ?? 0;
  const outputFile = join(dir, "redis.log");
  const fd = openSync(outputFile, "a");
  const args = [
    ...["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir],
    ...(opts.args ?? []),
  ];
  const child = spawn("redis-server", args, { stdio: ["ignore", fd, fd] });
  closeSync(fd);
  child.unref();
  const spawnError = new Promise<NodeJS.ErrnoException>((res) => child.once("error", res));
  const release = killWithParent(child, dir);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      if (child.pid !== undefined) await terminate(child, STOP_GRACE_MS);
      release();
      await rm(dir, { recursive: true, force: true, maxRetries: 3 });
    })());

  const deadline = Date.now() + READY_TIMEOUT_MS;
  // One listener each, raced on every poll (not a new exit listener every 50 ms).
  const spawnFailed = spawnError.then((err) =>
    err.code === "ENOENT"
      ? "redis-server not found: install it (apt-get install redis-server) or set REDIS_URL"
      : `could not start redis-server: ${err.message}`,
  );
  const exitedEarly = exited(child).then(
    () => `redis-server exited early (${child.signalCode ?? `exit code ${child.exitCode}`})`,
  );
  for (;;) {
    const problem = await Promise.race([
      spawnFailed,
      exitedEarly,
      new Promise<undefined>((res) => setTimeout(() => res(undefined), 50)),
    ]);
    if (problem === undefined && (await probe(port, "PING\r\n", 500))?.startsWith("+PONG")) break;
    if (problem !== undefined || Date.now() > deadline) {
      const output = child.pid === undefined ? "" : `\n${await tail([outputFile])}`;
      await stop();
      throw new Error(`${problem ?? `redis-server on port ${port} did not answer PING within 10 s`}${output}`);
    }
  }
  return { url: `redis://127.0.0.1:${port}`, stop };
}

/** A Redis Cluster of `nodes` primaries (no replicas) started by {@link startRedisCluster}. */
export interface RunningRedisCluster {
  /** The seed nodes as REDIS_URL takes them with RIPOSTE_REDIS_CLUSTER=true: `redis://127.0.0.1:p1,redis://…`. */
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * Starts `nodes` cluster-enabled redis-servers, joins them with `redis-cli --cluster create` (the 16,384 slots
 * spread over them) and resolves once every node reports `cluster_state:ok`.
 */
export async function startRedisCluster(nodes = 3): Promise<RunningRedisCluster> {
  const ports = await freePorts(nodes);
  const args = ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000"];
  const servers = await Promise.all(ports.map((port) => startRedis({ port, args })));
  const stop = async () => void (await Promise.all(servers.map((s) => s.stop())));
  try {
    const create = spawn(
      "redis-cli",
      ["--cluster", "create", ...ports.map((p) => `127.0.0.1:${p}`), "--cluster-replicas", "0", "--cluster-yes"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    create.stdout.on("data", (d: Buffer) => (output += d.toString()));
    create.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const code = await new Promise<number | null>((res, rej) => {
      create.once("error", rej);
      create.once("exit", res);
    });
    if (code !== 0) throw new Error(`redis-cli --cluster create failed (exit ${code}):\n${output.slice(-2000)}`);
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (const port of ports) {
      while (!(await probe(port, "CLUSTER INFO\r\n", 500))?.includes("cluster_state:ok")) {
        if (Date.now() > deadline) throw new Error(`the Redis Cluster node on port ${port} is not ok within 10 s`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { url: ports.map((p) => `redis://127.0.0.1:${p}`).join(","), stop };
}

if (import.meta.main) {
  if (process.argv[2] === "start") {
    const redis = await startRedis();
    console.log(`REDIS_URL=${redis.url}`);
    serveUntilSignal(
      () => redis.stop(),
      (line) => console.error(line),
    );
  } else {
    console.error("usage: npx node test/infra/redis.ts start");
    process.exitCode = 2;
  }
}
