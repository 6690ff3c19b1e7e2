/**
 * The settings a manifest carries: the fields an operator set (by flag,
 * environment or file), read back from the validated configuration through
 * the one field table, as `ha-vip run` flags or as YAML.
 *
 * Only what was set is written. Defaults stay out so that an upgrade brings
 * its own defaults, and computed ones (the node name is the host name, the
 * VIP lifetime follows the advert interval) are computed on the node that
 * runs ha-vip, not on the machine that generated the manifest.
 */
import { stringify } from "yaml";
import {
  type Config,
  FIELDS,
  type FieldSpec,
  formatDuration,
  type LoadedConfig,
} from "../config/mod.ts";

/** The cluster CA where kubeadm writes it. */
export const KUBEADM_CA = "/etc/kubernetes/pki/ca.crt";

/** Origin of a value a manifest kind adds (see {@link withHostDefaults}). */
export const MANIFEST_DEFAULT = "manifest default";

/** One field an operator set, with its value as the YAML file holds it. */
export interface Setting {
  /** The field, from the field table. */
  field: FieldSpec;
  /** Its value as the YAML file holds it. */
  value: string | number | boolean | string[];
  /** Where it came from (`--priority`, `HA_VIP_...`, a file). */
  origin: string;
}

function explicitOrigin(origin: string | undefined): boolean {
  if (origin === undefined) return false;
  return !(origin === "placeholder" || origin === "host name" ||
    origin.startsWith("default") || origin === "k8s.api_server");
}

function valueAt(config: Config, path: string): unknown {
  // deno-lint-ignore no-explicit-any
  return path.split(".").reduce<any>((n, k) => n?.[k], config);
}

/** The set fields, in field-table order. */
export function explicitSettings(loaded: LoadedConfig): Setting[] {
  const out: Setting[] = [];
  for (const field of FIELDS) {
    const origin = loaded.origins[field.path];
    if (!explicitOrigin(origin)) continue;
    const raw = valueAt(loaded.config, field.path);
    if (raw === undefined) continue;
    const value = field.kind === "duration"
      ? formatDuration(raw as number)
      : field.kind === "cidr_list" && Array.isArray(raw) && raw.length === 1
      // One VIP reads as it always did; dual stack as a list.
      ? raw[0] as string
      : raw as Setting["value"];
    out.push({ field, value, origin: origin! });
  }
  return out;
}

/**
 * A configuration for a control-plane host: external mode with API-server
 * health and no CA given gets kubeadm's CA, without which a kubeadm serving
 * certificate never verifies. Other hosts (k3s, RKE2) pass `--ca-cert`.
 */
export function withHostDefaults(loaded: LoadedConfig): LoadedConfig {
  const { config } = loaded;
  if (
    config.k8s.enabled && !config.k8s.in_cluster &&
    config.k8s.ca_cert === undefined && !config.health.insecure_skip_tls_verify
  ) {
    return {
      ...loaded,
      config: { ...config, k8s: { ...config.k8s, ca_cert: KUBEADM_CA } },
      origins: { ...loaded.origins, "k8s.ca_cert": MANIFEST_DEFAULT },
    };
  }
  return loaded;
}

/** The settings as `ha-vip run` flags (booleans as `--x`/`--no-x`, lists repeated). */
export function settingsAsFlags(settings: Setting[]): string[] {
  const args: string[] = [];
  for (const { field, value } of settings) {
    if (field.kind === "boolean") {
      args.push(value ? `--${field.flag}` : `--no-${field.flag}`);
    } else if (Array.isArray(value)) {
      for (const v of value) args.push(`--${field.flag}`, v);
    } else {
      args.push(`--${field.flag}`, String(value));
    }
  }
  return args;
}

/** The settings as a nested object shaped like the YAML file. */
export function settingsAsObject(
  settings: Setting[],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { field, value } of settings) {
    const keys = field.path.split(".");
    let node = out;
    for (const k of keys.slice(0, -1)) {
      node = (node[k] ??= {}) as Record<string, unknown>;
    }
    node[keys.at(-1)!] = value;
  }
  return out;
}

/** How manifests are written: no anchors, no folded lines. */
export const YAML_OPTIONS = { aliasDuplicateObjects: false, lineWidth: 0 };

/** The settings as YAML (empty mapping when nothing was set). */
export function settingsAsYaml(settings: Setting[]): string {
  const obj = settingsAsObject(settings);
  return Object.keys(obj).length === 0 ? "{}\n" : stringify(obj, YAML_OPTIONS);
}

/** Quotes one word for a POSIX shell. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word)
    ? word
    : `'${word.replaceAll("'", `'"'"'`)}'`;
}
