/** Structured logging (pino). Secrets are redacted by path wherever they might appear. */
import { pino, type Logger } from "pino";

export type { Logger };

/** Paths pino censors in every log line (credentials and auth headers). */
export const REDACT_PATHS: readonly string[] = [
  "*.token",
  "*.secret",
  "*.password",
  "*.authorization",
  "*.clientSecret",
  "*.client_secret",
  "*.apiToken",
  "*.api_token",
  "*.api_key",
  "*.access_key",
  "*.secret_key",
  "headers.authorization",
  "req.headers.authorization",
  'req.headers["x-riposte-signature"]',
  'headers["x-pan-key"]',
  'headers["x-apikey"]',
  'headers["x-apikeys"]',
  "headers.key",
];

/**
 * Creates the process logger; `RIPOSTE_LOG_LEVEL` sets the level (default info). `format` is `RIPOSTE_LOG_FORMAT`:
 * JSON lines for collectors (the default off a terminal), or readable lines through pino-pretty on a terminal
 * (`npm start`), written by pino's transport worker so formatting costs the event loop nothing.
 */
export function createLogger(
  opts: { level?: string; name?: string; format?: "json" | "pretty" | "auto"; tty?: boolean } = {},
): Logger {
  const format = opts.format ?? "auto";
  const pretty = format === "pretty" || (format === "auto" && (opts.tty ?? process.stdout.isTTY === true));
  return pino({
    name: opts.name ?? "riposte",
    level: opts.level ?? "info",
    redact: { paths: [...REDACT_PATHS], censor: "[redacted]" },
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    ...(pretty
      ? {
          transport: {
            target: "pino-pretty",
            options: {
              colorize: opts.tty ?? process.stdout.isTTY === true,
              translateTime: "SYS:HH:MM:ss.l",
              ignore: "pid,hostname",
            },
          },
        }
      : {}),
  });
}

/** A logger that drops everything; for tests and tools that print their own output. */
export const silentLogger: Logger = pino({ level: "silent" });
