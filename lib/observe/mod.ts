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
} from "./_log.ts";
export { MAX_SECRETS, redact, REDACTED, registerSecret } from "./_redact.ts";
export {
  type Labels,
  ListenError,
  Metrics,
  type MetricType,
  type ObserveServerOptions,
  parseHostPort,
  serveObservability,
} from "./_metrics.ts";
