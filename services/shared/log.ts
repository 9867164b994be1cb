/** Structured logging (pino). Secrets are redacted by path wherever they might appear. */
import { pino, type Logger } from "pino";

export type { Logger };

const REDACT = [
  "*.token",
  "*.secret",
  "*.password",
  "*.authorization",
  "*.clientSecret",
  "*.client_secret",
  "*.apiToken",
  "headers.authorization",
  "req.headers.authorization",
  'req.headers["x-riposte-signature"]',
];

/** Creates the process logger; `RIPOSTE_LOG_LEVEL` sets the level (default info). */
export function createLogger(opts: { level?: string; name?: string } = {}): Logger {
  return pino({
    name: opts.name ?? "riposte",
    level: opts.level ?? "info",
    redact: { paths: REDACT, censor: "[redacted]" },
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}

/** A logger that drops everything; for tests and tools that print their own output. */
export const silentLogger: Logger = pino({ level: "silent" });
