/** `ha-vip check`: validate and print the effective configuration, secrets redacted. */
import { stringify } from "yaml";
import { type LoadedConfig, redactedConfig } from "../config/mod.ts";

/** Renders the effective configuration (YAML or JSON) for `check`. */
export function renderCheck(loaded: LoadedConfig, json: boolean): string {
  const data = redactedConfig(loaded.config);
  if (json) return JSON.stringify(data, null, 2) + "\n";
  return "# ha-vip effective configuration (secrets redacted)\n" +
    stringify(data);
}
