/** Why a manifest cannot be generated for this configuration. */

/** One reason, naming the field and the fix. */
export interface ManifestIssue {
  /** Dotted field path, or "" for the manifest as a whole. */
  path: string;
  /** What is wrong and what to do instead. */
  message: string;
}

/** A configuration that is valid for `run` but cannot go into this kind of manifest. */
export class ManifestError extends Error {
  /** `kind`: the manifest kind; `issues`: every reason, each naming its field. */
  constructor(readonly kind: string, readonly issues: ManifestIssue[]) {
    super(
      issues.map((i) => i.path ? `${i.path}: ${i.message}` : i.message).join(
        "\n",
      ),
    );
    this.name = "ManifestError";
  }
}
