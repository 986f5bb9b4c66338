// The CometD JavaScript client side of bench/compare: it subscribes to
// /event/Order__e on the canned server, lets WARMUP messages through, then
// measures the CPU time (process.cpuUsage, user and system) and wall time
// of the next MESSAGES deliveries and prints them as one JSON line.
//
//   node cometd_client.mjs URL TRANSPORT MESSAGES WARMUP
//
// TRANSPORT is long-polling or websocket.
import { adapt } from "cometd-nodejs-client";
import { CometD } from "cometd";
import { readFileSync } from "node:fs";

const version = JSON.parse(readFileSync(new URL("./node_modules/cometd/package.json", import.meta.url))).version;

const [url, transport, messagesArg, warmupArg] = process.argv.slice(2);
const messages = Number(messagesArg);
const warmup = Number(warmupArg);
if (!url || !transport || !(messages > 0) || !(warmup >= 0)) {
  console.error("usage: node cometd_client.mjs URL TRANSPORT MESSAGES WARMUP");
  process.exit(2);
}

adapt();
const cometd = new CometD();
cometd.configure({ url, logLevel: "warn" });
for (const name of cometd.getTransportTypes()) {
  if (name !== transport) {
    cometd.unregisterTransport(name);
  }
}

const fail = (what, m) => {
  console.error(`cometd_client: ${what}: ${JSON.stringify(m)}`);
  process.exit(1);
};
setTimeout(() => fail("timeout", { delivered }), 120000).unref();

let delivered = 0;
let cpu0, wall0;
cometd.handshake((h) => {
  if (!h.successful) {
    fail("handshake", h);
  }
  cometd.subscribe("/event/Order__e", (m) => {
    delivered++;
    if (delivered === warmup) {
      cpu0 = process.cpuUsage();
      wall0 = process.hrtime.bigint();
    } else if (delivered === warmup + messages) {
      const cpu = process.cpuUsage(cpu0);
      const wall = process.hrtime.bigint() - wall0;
      console.log(JSON.stringify({
        client: `CometD JS ${version} on Node ${process.version}`,
        messages,
        cpuNs: (cpu.user + cpu.system) * 1000,
        wallNs: Number(wall),
      }));
      cometd.disconnect(() => process.exit(0));
      setTimeout(() => process.exit(0), 1000);
    }
  }, (s) => {
    if (!s.successful) {
      fail("subscribe", s);
    }
  });
});
