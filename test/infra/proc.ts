/**
 * Small process and network helpers shared by the test infrastructure (Kafka, Redis).
 */
import type { ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createServer, connect } from "node:net";
import type { Server } from "node:net";

/** Returns `count` distinct free TCP ports on 127.0.0.1 (all bound at once, then released). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Server>((resolve, reject) => {
          const server = createServer();
          server.once("error", reject);
          server.listen(0, "127.0.0.1", () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((s) => {
    const address = s.address();
    if (address === null || typeof address === "string") throw new Error("unexpected server address");
    return address.port;
  });
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return ports;
}

/** Opens a TCP connection to 127.0.0.1:`port`, optionally writes `send`, and resolves with what it received first. */
export function probe(port: number, send?: string, timeoutMs = 1000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: "127.0.0.1" });
    const done = (value: string | undefined): void => {
      socket.destroy();
      resolve(value);
    };
    socket.setTimeout(timeoutMs, () => done(undefined));
    socket.once("error", () => done(undefined));
    socket.once("connect", () => (send === undefined ? done("") : socket.write(send)));
    socket.once("data", (data) => done(data.toString("utf8")));
  });
}

/** Resolves when the child has exited (immediately if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

/** SIGTERM, wait up to `graceMs`, then SIGKILL; resolves once the child is gone. */
export async function terminate(child: ChildProcess, graceMs: number): Promise<void> {
  const gone = exited(child);
  child.kill("SIGTERM");
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), graceMs);
  });
  const late = await Promise.race([gone.then(() => false), timedOut]);
  clearTimeout(timer);
  if (late) {
    child.kill("SIGKILL");
    await gone;
  }
}

/** The last `lines` lines of each readable file, labelled; missing files are skipped. */
export async function tail(files: readonly string[], lines = 40): Promise<string> {
  const parts: string[] = [];
  for (const file of files) {
    const text = await readFile(file, "utf8").catch(() => undefined);
    if (text === undefined || text.trim() === "") continue;
    parts.push(`--- ${file} (last ${lines} lines) ---\n${text.trimEnd().split("\n").slice(-lines).join("\n")}`);
  }
  return parts.length > 0 ? parts.join("\n") : "(no output captured)";
}

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
const guarded = new Map<ChildProcess, string>();

function killAll(): void {
  for (const [child, dir] of guarded) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      try {
        process.kill(child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  }
  guarded.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  if (process.listenerCount(signal) > 1) return;
  killAll();
  setHandlers(false);
  process.kill(process.pid, signal);
}

function setHandlers(on: boolean): void {
  if (on) {
    process.on("exit", killAll);
    for (const s of SIGNALS) process.on(s, onSignal);
  } else {
    process.off("exit", killAll);
    for (const s of SIGNALS) process.off(s, onSignal);
  }
}

/**
 * Makes sure `child` does not outlive this process: it is SIGKILLed (and `dir` removed) on `exit`, and on a
 * termination signal that nobody else handles (the signal is then re-raised so the default behaviour applies).
 * Returns a function that removes this safety net.
 */
export function killWithParent(child: ChildProcess, dir: string): () => void {
  if (guarded.size === 0) setHandlers(true);
  guarded.set(child, dir);
  return () => {
    if (guarded.delete(child) && guarded.size === 0) setHandlers(false);
  };
}

/**
 * Script mode: keeps the process alive until SIGINT/SIGTERM or until its parent goes away (e.g. `npx` killed),
 * then awaits `stop` and exits.
 */
export function serveUntilSignal(stop: () => Promise<void>, log: (line: string) => void): void {
  const parent = process.ppid;
  let stopping = false;
  const shutdown = (reason: string): void => {
    if (stopping) return;
    stopping = true;
    log(`${reason}: stopping…`);
    void stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log(String(err));
        process.exit(1);
      },
    );
  };
  setInterval(() => {
    if (process.ppid !== parent) shutdown("parent process exited");
  }, 1000);
  process.on("SIGINT", shutdown);
  process.on("SIGTERM", shutdown);
}
