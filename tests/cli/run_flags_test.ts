/**
 * The daemon's start-up path reads `run`'s flags from the field table
 * without commander (`lib/cli/_run_flags.ts`). It must never be a second
 * grammar: whatever it accepts, commander (the full command line) reads the
 * same way, and whatever it does not fully understand it leaves to
 * commander.
 */
import assert from "node:assert/strict";
import { Command } from "commander";
import { FIELDS } from "../../lib/config/mod.ts";
import { addConfigOptions, flagValues } from "../../lib/cli/_options.ts";
import { parseRunFlags, type RunFlags } from "../../lib/cli/_run_flags.ts";

/** commander's reading of `run ARGS`, or the error it raised. */
function commanderReads(args: string[]): RunFlags | { error: string } {
  const run = addConfigOptions(new Command("run"))
    .exitOverride()
    .configureOutput({ writeOut: () => {}, writeErr: () => {} });
  try {
    run.parse(args, { from: "user" });
  } catch (e) {
    return { error: String(e) };
  }
  const opts = run.opts();
  const config = opts.config as string | undefined;
  return {
    ...(config === undefined ? {} : { config }),
    flags: flagValues(opts),
  };
}

/** One valid flag per field, in both spellings where there are two. */
function everyField(): string[][] {
  const out: string[][] = [];
  for (const f of FIELDS) {
    switch (f.kind) {
      case "boolean":
        out.push([`--${f.flag}`], [`--no-${f.flag}`]);
        break;
      case "list":
      case "cidr_list":
        out.push([
          `--${f.flag}`,
          "10.0.0.12,10.0.0.13",
          `--${f.flag}=10.0.0.14`,
        ]);
        break;
      default:
        out.push([`--${f.flag}`, "x1"], [`--${f.flag}=x2`], [`--${f.flag}=`]);
    }
  }
  return out;
}

Deno.test("run flags: every field, in every plain form, reads as commander reads it", () => {
  for (const args of everyField()) {
    const light = parseRunFlags(args);
    assert.ok(light, `not read: ${args.join(" ")}`);
    assert.deepEqual(light, commanderReads(args), args.join(" "));
  }
  const all = [
    "-c",
    "/etc/ha-vip/config.yaml",
    ...everyField().flat(),
    "--priority",
    "150",
    "--priority=120", // the last one wins, as in commander
    "--preempt",
    "--no-preempt",
  ];
  assert.deepEqual(parseRunFlags(all), commanderReads(all));
  assert.equal(parseRunFlags(all)!.flags["election.vrrp.priority"], "120");
  assert.equal(parseRunFlags(all)!.flags["election.vrrp.preempt"], false);
});

Deno.test("run flags: help, errors and unusual forms are left to commander", () => {
  for (
    const args of [
      ["--help"],
      ["-h"],
      ["--prority", "5"], // a typo: commander suggests --priority
      ["--vip"], // missing value
      ["--vip", "--interface", "eth0"], // a value that looks like a flag
      ["--", "--vip", "x"],
      ["extra"],
      ["-c"],
      ["-cfile.yaml"],
      ["--preempt=yes"], // a boolean takes no value
      ["-V"],
    ]
  ) {
    assert.equal(parseRunFlags(args), undefined, args.join(" "));
  }
});

Deno.test("run flags: random argument lists: whatever is read, commander reads alike", () => {
  const words = [
    "--vip",
    "--interface",
    "--priority",
    "--unicast-peer",
    "--preempt",
    "--no-preempt",
    "--k8s",
    "--no-k8s",
    "--health-interval=2s",
    "--log-level=",
    "--config",
    "-c",
    "--",
    "-x",
    "--bogus",
    "eth0",
    "10.0.0.1/24",
    "1,2",
    "",
    "=",
    "--vip=a=b",
  ];
  let seed = 12;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  let read = 0;
  for (let i = 0; i < 5000; i++) {
    const args = Array.from(
      { length: rand(7) },
      () => words[rand(words.length)],
    );
    const light = parseRunFlags(args);
    if (light === undefined) continue;
    read++;
    assert.deepEqual(light, commanderReads(args), JSON.stringify(args));
  }
  assert.ok(read > 300, `only ${read} lists were read: the test says little`);
});
