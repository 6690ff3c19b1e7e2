/**
 * Configuration: one schema (the field table {@link FIELDS}), three sources (flags >
 * `HA_VIP_*` environment > YAML file > defaults), errors that name the field,
 * the value and the fix.
 *
 * @module
 */
export { formatDuration, parseDuration } from "./_duration.ts";
export {
  envName,
  type FieldKind,
  FIELDS,
  type FieldSpec,
  MAX_TIMER_MS,
} from "./_fields.ts";
export type { Config } from "./_schema.ts";
export {
  autoVipLifetime,
  ConfigError,
  type ConfigIssue,
  type ConfigSources,
  type FileValues,
  formatIssue,
  loadConfig,
  type LoadedConfig,
  redactedConfig,
} from "./_load.ts";
export { renderReference, updateReadme } from "./_reference.ts";
export {
  type ConfigChange,
  diffConfig,
  formatChange,
  LIVE_FIELDS,
} from "./_reload.ts";
