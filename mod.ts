/**
 * ha-vip as a library: the pieces the `ha-vip` binary is made of, for
 * programs that embed or test them.
 *
 * @module
 */
export * as config from "./lib/config/mod.ts";
export * as observe from "./lib/observe/mod.ts";
