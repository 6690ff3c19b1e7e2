/**
 * The token must never appear in a log line, an error message, an exception
 * or the printed form of any object. Every place that could leak it is
 * exercised here with a capturing logger at debug level.
 */

import assert from "node:assert/strict";
import {
  ApiClient,
  externalCredentials,
  HttpStatusError,
  REDACTED,
  staticTokenSource,
} from "../../lib/k8s/mod.ts";
import { SimApiServer, statusResponse, testPki } from "../../testing/mod.ts";
import {
  allRenderings,
  assertNoSecret,
  captureLogger,
  withTempDir,
} from "./_support.ts";

const TOKEN = "sekrit-7f3a9c1e5b2d4f6a8c0e";

async function settle(p: Promise<unknown>): Promise<unknown> {
  try {
    return await p;
  } catch (err) {
    return err;
  }
}

Deno.test("no token leak: a hostile server echoing the Authorization header", async () => {
  const pki = await testPki();
  await using sim = await SimApiServer.start({
    tokens: { [TOKEN]: { user: "ha-vip", allow: "*" } },
  });
  const echo = (req: Request) => req.headers.get("authorization") ?? "";
  sim.route(
    "GET",
    "/echo401",
    ({ request }) =>
      statusResponse(401, "Unauthorized", `bad: ${echo(request)}`),
  );
  sim.route(
    "GET",
    "/echo403",
    ({ request }) => statusResponse(403, "Forbidden", `no: ${echo(request)}`),
  );
  sim.route(
    "GET",
    "/echo500",
    ({ request }) =>
      new Response(`[-]${echo(request)} failed\nreadyz check failed\n`, {
        status: 500,
        headers: { "x-echo": echo(request) },
      }),
  );
  sim.route(
    "GET",
    "/echojson",
    ({ request }) => new Response(`{"x":"${echo(request)}"`, { status: 200 }),
  );
  const logger = captureLogger();
  const client = new ApiClient({
    url: sim.url,
    caCert: pki.caCert,
    tokenSource: staticTokenSource(TOKEN),
    logger,
  });
  const outputs: unknown[] = [];
  for (const path of ["/echo401", "/echo403", "/echo500", "/echojson"]) {
    const res = await client.request({ method: "GET", path });
    assert.ok(res.body.includes(REDACTED), `${path} body redacted`);
    outputs.push(res, await settle(client.getJson(path)));
  }
  const e401 = outputs[1] as HttpStatusError;
  assert.ok(e401 instanceof HttpStatusError && e401.status === 401);
  assert.ok(e401.message.includes(REDACTED));
  assertNoSecret(TOKEN, outputs.flatMap(allRenderings), "responses and errors");
  assertNoSecret(TOKEN, logger.lines, "logs");
  assert.ok(logger.lines.length > 0);
});

Deno.test("no token leak: timeouts, refused connections, TLS errors, protocol errors", async () => {
  const pki = await testPki();
  const logger = captureLogger();
  const errors: unknown[] = [];
  {
    await using sim = await SimApiServer.start({ delayMs: Infinity });
    const client = new ApiClient({
      url: sim.url,
      caCert: pki.caCert,
      tokenSource: staticTokenSource(TOKEN),
      timeoutMs: 100,
      logger,
    });
    errors.push(
      await settle(client.request({ method: "GET", path: "/readyz" })),
    );
    await sim.refuse();
    errors.push(
      await settle(client.request({ method: "GET", path: "/readyz" })),
    );
    errors.push(await settle(client.checkTcp()));
  }
  {
    await using sim = await SimApiServer.start({
      cert: pki.expiredCert,
      key: pki.serverKey,
    });
    const client = new ApiClient({
      url: sim.url,
      caCert: pki.caCert,
      tokenSource: staticTokenSource(TOKEN),
      logger,
    });
    errors.push(
      await settle(client.request({ method: "GET", path: "/readyz" })),
    );
    const wrongName = new ApiClient({
      url: sim.url,
      caCert: pki.caCert,
      tlsServerName: "nope",
      tokenSource: staticTokenSource(TOKEN),
      logger,
    });
    errors.push(
      await settle(wrongName.request({ method: "GET", path: "/readyz" })),
    );
  }
  {
    await using sim = await SimApiServer.start({
      plainHttp: true,
      tokens: { [TOKEN]: { user: "u", allow: "*" } },
    });
    sim.route("GET", "/huge", () => new Response("y".repeat(4096)));
    const client = new ApiClient({
      url: sim.url,
      tokenSource: staticTokenSource(TOKEN),
      maxResponseBytes: 100,
      logger,
    });
    errors.push(await settle(client.request({ method: "GET", path: "/huge" })));
    errors.push(
      await settle(client.request({ method: "GET", path: "/bad path" })),
    );
    errors.push(
      await settle(
        client.request({
          method: "GET",
          path: "/x",
          headers: { "X-A": "a\r\nb" },
        }),
      ),
    );
  }
  assert.equal(errors.length, 8);
  for (const e of errors) assert.ok(e instanceof Error, String(e));
  assertNoSecret(TOKEN, errors.flatMap(allRenderings), "errors");
  assertNoSecret(TOKEN, logger.lines, "logs");
});

Deno.test("no token leak: inspect of credentials, token sources, clients", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/token`, TOKEN);
    const fromFile = await externalCredentials({
      apiServer: "https://127.0.0.1:6443",
      tokenFile: `${dir}/token`,
    });
    const inline = await externalCredentials({
      apiServer: "https://127.0.0.1:6443",
      token: TOKEN,
    });
    const client = new ApiClient({
      url: inline.apiServer,
      tokenSource: inline.tokenSource,
    });
    for (
      const v of [
        fromFile,
        inline,
        fromFile.tokenSource,
        inline.tokenSource,
        client,
      ]
    ) {
      assertNoSecret(TOKEN, allRenderings(v), Deno.inspect(v));
    }
    const { inspect } = await import("node:util");
    assertNoSecret(TOKEN, [
      inspect({ fromFile, inline, client }, { depth: 10, showHidden: true }),
    ], "util.inspect");
    // And the value is really in there (the test would be vacuous otherwise).
    assert.equal((await inline.tokenSource.token())?.reveal(), TOKEN);
    // A token file with a header-breaking character: rejected without showing it.
    await Deno.writeTextFile(`${dir}/token`, `${TOKEN}\nX-Injected: 1`);
    const err = await settle(
      externalCredentials({
        apiServer: "https://x:1",
        tokenFile: `${dir}/token`,
      }),
    );
    assert.ok(err instanceof Error);
    assertNoSecret(TOKEN, allRenderings(err), "bad token file error");
  });
});
