/**
 * Observability: structured logs, metrics and the status endpoint, and the
 * one secret-redaction registry every output passes through.
 *
 * @module
 */
export {
  createLogger,
  type LogFields,
  type Logger,
  type LoggerOptions,
  type LogLevel,
  type LogSink,
  silentLogger,
} from "./log.ts";
export { MAX_SECRETS, redact, REDACTED, registerSecret } from "./redact.ts";
export {
  ListenError,
  Metrics,
  type ObserveServerOptions,
  parseHostPort,
  serveObservability,
} from "./metrics.ts";
