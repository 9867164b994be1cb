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
export async function startRedis(): Promise<RunningRedis> {
  const dir = await mkdtemp(join(tmpdir(), "riposte-redis-"));
  const [port = 0] = await freePorts(1);
  const outputFile = join(dir, "redis.log");
  const fd = openSync(outputFile, "a");
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir];
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
  for (;;) {
    const problem = await Promise.race([
      spawnError.then((err) =>
        err.code === "ENOENT"
          ? "redis-server not found: install it (apt-get install redis-server) or set REDIS_URL"
          : `could not start redis-server: ${err.message}`,
      ),
      exited(child).then(() => `redis-server exited early (${child.signalCode ?? `exit code ${child.exitCode}`})`),
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
