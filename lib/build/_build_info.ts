/**
 * What a release build stamps into the program. This committed copy is the
 * one a source checkout runs with; `deno task release` builds from a staging
 * copy of the tree in which this file is rewritten with the commit, so a
 * compiled binary or bundle never asks git at run time (there is no git, and
 * no source tree, on the hosts it runs on).
 */

/** The git commit the release was built from; `undefined` when run from source. */
export const COMMIT: string | undefined = undefined;
