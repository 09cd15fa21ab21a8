// Create a bot with the generated TypeScript client, follow it to ENDED over its event stream,
// and verify a webhook the server delivered with the `standardwebhooks` library.
//
//   MEEBOTER_URL=http://127.0.0.1:8080 MEEBOTER_API_KEY=mbk_... npm run example
//
// The meeting is the server's own Meet test meeting (TEST_MEETINGS=true, the default). The
// webhook receiver listens on loopback, so the server needs WEBHOOK_ALLOW_PRIVATE=true.
// Exits 0 when the bot ended and a signed delivery verified; prints why otherwise.
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";
import { Webhook } from "standardwebhooks";
import { createMeeboterClient } from "../src/index.js";

type Delivery = { body: string; headers: Record<string, string> };

/** A local endpoint that keeps every delivery (body and headers). */
async function startReceiver(): Promise<{ url: string; deliveries: Delivery[]; close: () => void }> {
  const deliveries: Delivery[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      deliveries.push({ body: Buffer.concat(chunks).toString("utf8"), headers: flatten(req.headers) });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hooks`, deliveries, close: () => server.close() };
}

function flatten(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (typeof v === "string") out[k] = v;
  return out;
}

async function main(): Promise<number> {
  const base = (process.env.MEEBOTER_URL ?? "").replace(/\/$/, "");
  const key = process.env.MEEBOTER_API_KEY ?? "";
  const api = createMeeboterClient(base, key);
  const receiver = await startReceiver();

  const endpoint = await api.POST("/api/webhooks", {
    body: { url: receiver.url, events: ["bot.status_changed"] },
  });
  if (!endpoint.data?.secret) {
    console.log(`registering the webhook failed: ${endpoint.response.status} ${JSON.stringify(endpoint.error)}`);
    return 1;
  }
  const { id: endpointId, secret } = endpoint.data;
  try {
    const meetingUrl = `${base}/_test/meeting/meet/ts-${randomUUID().slice(0, 8)}`;
    const created = await api.POST("/api/bots", {
      params: { header: { "Idempotency-Key": `ts-example-${randomUUID()}` } },
      body: { meetingUrl, botName: "TypeScript example", recordingMode: "none", automaticLeave: { nooneJoinedTimeoutSecs: 60 } },
    });
    if (!created.data) {
      console.log(`creating the bot failed: ${created.response.status} ${JSON.stringify(created.error)}`);
      return 1;
    }
    const bot = created.data;
    console.log(`bot ${bot.id} for ${meetingUrl}`);

    // The stream is Server-Sent Events: read it as text (parseAs: "stream"), one event per
    // blank-line-separated block; ask the bot to leave once it is in the call.
    const stream = await api.GET("/api/bots/{id}/stream", {
      params: { path: { id: bot.id } },
      parseAs: "stream",
      signal: AbortSignal.timeout(180_000),
    });
    if (!stream.response.ok || !stream.data) {
      console.log(`stream: HTTP ${stream.response.status}`);
      return 1;
    }
    const statuses: string[] = [];
    const decoder = new TextDecoder();
    let buffer = "";
    let askedToLeave = false;
    reading: for await (const chunk of stream.data as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: ?(.*)$/m.exec(block)?.[1];
        const data = /^data: ?(.*)$/m.exec(block)?.[1];
        if (event !== "status_change" || !data) continue;
        const status: string = JSON.parse(data).data.status;
        statuses.push(status);
        console.log(`status: ${status}`);
        if (status === "IN_CALL" && !askedToLeave) {
          askedToLeave = true;
          await api.POST("/api/bots/{id}/leave", { params: { path: { id: bot.id } } });
        }
        if (status === "ENDED" || status === "FATAL") break reading;
      }
    }
    if (statuses.at(-1) !== "ENDED") {
      console.log(`the bot did not end normally: ${statuses.join(", ")}`);
      return 1;
    }

    // Every status change is delivered; find this bot's ENDED and check its signature.
    const verifier = new Webhook(secret);
    const deadline = Date.now() + 180_000;
    let checked = 0;
    while (Date.now() < deadline) {
      for (; checked < receiver.deliveries.length; checked++) {
        const { body, headers } = receiver.deliveries[checked];
        const payload = verifier.verify(body, headers) as { type?: string; data?: { botId?: string; status?: string } };
        if (payload.type === "bot.status_changed" && payload.data?.botId === bot.id && payload.data?.status === "ENDED") {
          console.log(`webhook ${headers["webhook-id"]} verified: ${bot.id} ENDED`);
          return 0;
        }
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    console.log("no signed ENDED delivery arrived");
    return 1;
  } finally {
    await api.DELETE("/api/webhooks/{id}", { params: { path: { id: endpointId } } });
    receiver.close();
  }
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
