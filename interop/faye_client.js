'use strict';
// Faye 1.4.3's own Node client, driven from the command line or from stdin,
// printing what happens as JSON lines on stdout. The Go interop tests use it
// to check that Faye's client and the Go SDK's client and test server
// understand each other.
//
//   node faye_client.js URL [--transport long-polling|websocket]
//        [--subscribe CH]... [--publish CH] [--count N] [--expect N]
//        [--timeout-ms MS]
//     Subscribes to every --subscribe channel, then publishes N messages
//     ({"n":i}) to the --publish channel, prints every message received, and
//     exits 0 once --expect messages arrived (default: N if it subscribed,
//     else 0) or 1 after --timeout-ms (default 20000).
//
//   node faye_client.js URL --stdin [--transport ...]
//     Reads one JSON command per line from stdin and answers each with a line
//     carrying the same "ref":
//       {"op":"subscribe","channel":CH,"ref":R}    -> {"event":"subscribed",...}
//       {"op":"unsubscribe","channel":CH,"ref":R}  -> {"event":"unsubscribed",...}
//       {"op":"publish","channel":CH,"data":D,"ref":R} -> {"event":"published",...}
//       {"op":"info","ref":R}  -> {"event":"info","clientId":..,"transport":..,"state":..}
//       {"op":"disconnect","ref":R} -> {"event":"disconnected",...}, then exits
//     A failed command answers {"event":"error","ref":R,"error":"..."}. End of
//     stdin disconnects and exits.
//
// Every received message is printed as {"event":"message","channel":CH,"data":D}.
// --transport long-polling disables Faye's websocket transport; websocket
// (the default) lets Faye upgrade to a websocket after the handshake, as it
// does by default. The "info" command tells which one is in use.
const faye = require('faye');
const readline = require('readline');

function usage(msg) {
  process.stderr.write((msg ? msg + '\n' : '') +
    'usage: node faye_client.js URL [--stdin] [--transport long-polling|websocket] ' +
    '[--subscribe CH]... [--publish CH] [--count N] [--expect N] [--timeout-ms MS]\n');
  process.exit(2);
}

const args = process.argv.slice(2);
if (args.length === 0 || args[0].startsWith('--')) usage('missing URL');
const opts = { url: args[0], subscribe: [], transport: 'websocket', count: 0, timeoutMs: 20000 };
for (let i = 1; i < args.length; i++) {
  const next = () => {
    if (i + 1 >= args.length) usage('missing value for ' + args[i]);
    return args[++i];
  };
  switch (args[i]) {
    case '--stdin': opts.stdin = true; break;
    case '--transport': opts.transport = next(); break;
    case '--subscribe': opts.subscribe.push(next()); break;
    case '--publish': opts.publish = next(); break;
    case '--count': opts.count = parseInt(next(), 10); break;
    case '--expect': opts.expect = parseInt(next(), 10); break;
    case '--timeout-ms': opts.timeoutMs = parseInt(next(), 10); break;
    default: usage('unknown argument ' + args[i]);
  }
}
if (opts.transport !== 'long-polling' && opts.transport !== 'websocket') usage('bad --transport');

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

const client = new faye.Client(opts.url, { timeout: 10, retry: 0.2 });
if (opts.transport === 'long-polling') client.disable('websocket');
client.disable('autodisconnect');

const subscriptions = new Map();
const unsubscribeWaiters = new Map();
client.addExtension({
  incoming(message, callback) {
    if (message.channel === '/meta/unsubscribe') {
      for (const ch of [].concat(message.subscription || [])) {
        const waiting = unsubscribeWaiters.get(ch);
        if (waiting && waiting.length > 0) waiting.shift()(message);
      }
    }
    callback(message);
  },
});
let received = 0;
let onMessage = () => {};

function subscribe(channel) {
  const sub = client.subscribe(channel);
  sub.withChannel((ch, data) => {
    received++;
    out({ event: 'message', channel: ch, data: data });
    onMessage();
  });
  subscriptions.set(channel, sub);
  return sub;
}

function errText(err) {
  if (!err) return 'unknown error';
  if (err.code) return err.code + ':' + [].concat(err.params || []).join(',') + ':' + err.message;
  return err.message || String(err);
}

function info() {
  return {
    clientId: client._dispatcher.clientId || null,
    transport: client._dispatcher.connectionType || null,
    state: ['', 'unconnected', 'connecting', 'connected', 'disconnected'][client._state] || String(client._state),
  };
}

function finish(code) {
  const done = () => process.exit(code);
  Promise.resolve(client.disconnect()).then(done, done);
  setTimeout(done, 2000).unref();
}

let disconnecting = null;

function runStdin() {
  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', line => {
    line = line.trim();
    if (!line) return;
    let cmd;
    try { cmd = JSON.parse(line); } catch (e) { out({ event: 'error', error: 'bad command: ' + e.message }); return; }
    const ref = cmd.ref;
    const fail = err => out({ event: 'error', ref: ref, op: cmd.op, error: errText(err) });
    switch (cmd.op) {
      case 'subscribe':
        subscribe(cmd.channel).then(() => out({ event: 'subscribed', ref: ref, channel: cmd.channel }), fail);
        break;
      case 'unsubscribe': {
        const sub = subscriptions.get(cmd.channel);
        if (!sub) { fail(new Error('not subscribed to ' + cmd.channel)); break; }
        subscriptions.delete(cmd.channel);
        // Faye's unsubscribe does not say when the server answered: the
        // extension below sees the reply and answers the command then.
        const waiting = unsubscribeWaiters.get(cmd.channel) || [];
        waiting.push(reply => {
          if (reply.successful) out({ event: 'unsubscribed', ref: ref, channel: cmd.channel });
          else fail(new Error(reply.error));
        });
        unsubscribeWaiters.set(cmd.channel, waiting);
        sub.cancel();
        break;
      }
      case 'publish':
        client.publish(cmd.channel, cmd.data).then(() => out({ event: 'published', ref: ref, channel: cmd.channel }), fail);
        break;
      case 'info':
        client.connect(() => out(Object.assign({ event: 'info', ref: ref }, info())));
        break;
      case 'disconnect':
        disconnecting = Promise.resolve(client.disconnect()).then(() => {
          out({ event: 'disconnected', ref: ref });
          process.exit(0);
        }, fail);
        break;
      default:
        fail(new Error('unknown op ' + cmd.op));
    }
  });
  rl.on('close', () => {
    if (disconnecting) disconnecting.then(() => process.exit(0), () => process.exit(1));
    else finish(0);
  });
}

function runOnce() {
  const expect = opts.expect !== undefined ? opts.expect : (opts.subscribe.length > 0 ? opts.count : 0);
  setTimeout(() => {
    out({ event: 'timeout', received: received, expected: expect });
    finish(1);
  }, opts.timeoutMs).unref();
  let finished = false;
  const check = () => {
    if (!finished && received >= expect) {
      finished = true;
      out(Object.assign({ event: 'done', received: received }, info()));
      finish(0);
    }
  };
  onMessage = check;
  Promise.all(opts.subscribe.map(ch => subscribe(ch).then(() => out({ event: 'subscribed', channel: ch }))))
    .then(async () => {
      for (let n = 1; n <= opts.count; n++) {
        await client.publish(opts.publish, { n: n });
        out({ event: 'published', channel: opts.publish, n: n });
      }
      check();
    })
    .catch(err => {
      out({ event: 'error', error: errText(err) });
      finish(1);
    });
}

if (opts.stdin) runStdin();
else runOnce();
