'use strict';
// A cometd-nodejs-server 1.2.1 Bayeux server for the Go SDK's interop tests.
//
//   node server_cometd.js PORT      (PORT 0 = pick a free port)
//
// Binds 127.0.0.1, serves Bayeux long-polling (the only transport this server
// has) at /cometd and prints "listening on PORT" once it accepts connections.
// Sessions are bound to the BAYEUX_BROWSER cookie.
//
// Environment:
//   COMETD_TIMEOUT        long-poll timeout in ms (default 2000)
//   COMETD_MAX_INTERVAL   ms without /meta/connect before the session
//                         expires (default 10000)
//   COMETD_SWEEP          expiry sweep period in ms (default 200)
//   COMETD_LOG=debug      the server's own debug log (stdout)
//   ACK=1                 the server side of CometD's acknowledgement
//                         extension (cometd-nodejs-server/ack-extension)
//   WIRE_LOG=1            log every message in and out to stderr
//
// Test hooks (not part of the server):
//   /service/echo    a publish there is answered with the request's data in
//                    the publish reply ({"id","channel","successful":true,
//                    "data"}), the shape of a CometD remote-call reply.
//   /forbidden/**    publish and subscribe are denied by the security policy
//                    ("403::publish_denied", "403::subscribe_denied").
//   GET  /control/session?clientId=ID   {"exists":bool}
//   POST /control/destroy?clientId=ID   removes the session as an expiry
//                                       would, {"destroyed":bool}
//   POST /control/publish?channel=CH    publishes the request body (JSON)
//                                       from the server
//   POST /control/tear?count=N          the next N Bayeux responses that
//                                       carry a message on a non-meta
//                                       channel are not sent: their
//                                       connection is destroyed instead, as
//                                       a network failure after the server
//                                       handed the messages over would
const http = require('http');
const cometd = require('cometd-nodejs-server');

const port = parseInt(process.argv[2] || '0', 10);
const env = (name, def) => (process.env[name] ? parseInt(process.env[name], 10) : def);

const options = {
  timeout: env('COMETD_TIMEOUT', 2000),
  maxInterval: env('COMETD_MAX_INTERVAL', 10000),
  sweepPeriod: env('COMETD_SWEEP', 200),
};
if (process.env.COMETD_LOG) options.logLevel = process.env.COMETD_LOG;
const server = cometd.createCometDServer(options);
if (process.env.ACK === '1') {
  const { AcknowledgedMessagesExtension } = require('cometd-nodejs-server/ack-extension');
  server.addExtension(new AcknowledgedMessagesExtension());
}

// tears counts the responses still to tear (POST /control/tear).
let tears = 0;

// carriesDelivery reports whether a response body holds a message on a
// non-meta channel.
function carriesDelivery(body) {
  try {
    const msgs = JSON.parse(body);
    return Array.isArray(msgs) && msgs.some(m => m && typeof m.channel === 'string' && !m.channel.startsWith('/meta/'));
  } catch (e) {
    return false;
  }
}

// handleBayeux serves a Bayeux request, destroying the connection instead
// of answering when a tear is armed and the response carries a delivery.
function handleBayeux(req, res) {
  const end = res.end.bind(res);
  res.end = (content, ...rest) => {
    if (tears > 0 && typeof content === 'string' && carriesDelivery(content)) {
      tears--;
      if (process.env.WIRE_LOG === '1') process.stderr.write('tear ' + content.slice(0, 2000) + '\n');
      req.socket.destroy();
      return res;
    }
    return end(content, ...rest);
  };
  server.handle(req, res);
}

// wire logs one message (WIRE_LOG=1), cut to 2000 characters.
function wire(prefix, message) {
  let s = JSON.stringify(message);
  if (s.length > 2000) s = s.slice(0, 2000) + '...(' + s.length + ' chars)';
  process.stderr.write(prefix + s + '\n');
}

if (process.env.WIRE_LOG === '1') {
  server.addExtension({
    incoming(srv, session, message, callback) {
      wire('in  ', message);
      callback(undefined, true);
    },
    outgoing(srv, sender, session, message, callback) {
      wire('out ' + (session ? session.id + ' ' : ''), message);
      callback(undefined, true);
    },
  });
}

const forbidden = name => typeof name === 'string' && name.startsWith('/forbidden/');
server.policy = {
  canSubscribe(session, message, channel, callback) {
    callback(undefined, !forbidden(channel.name));
  },
  canPublish(session, message, channel, callback) {
    callback(undefined, !forbidden(channel.name));
  },
};

server.createServerChannel('/service/echo').addListener('message', (session, channel, message, callback) => {
  message.reply.data = message.data;
  callback(undefined, true);
});

function reply(res, status, body) {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

const httpServer = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://127.0.0.1');
  if (url.pathname === '/cometd' || url.pathname.startsWith('/cometd/')) {
    handleBayeux(req, res);
    return;
  }
  const session = server.getServerSession(url.searchParams.get('clientId') || '');
  if (url.pathname === '/control/session' && req.method === 'GET') {
    reply(res, 200, { exists: !!session });
    return;
  }
  if (url.pathname === '/control/destroy' && req.method === 'POST') {
    // The same removal the expiry sweep does (timeout = true).
    if (session) server._removeServerSession(session, true);
    reply(res, 200, { destroyed: !!session });
    return;
  }
  if (url.pathname === '/control/tear' && req.method === 'POST') {
    tears += parseInt(url.searchParams.get('count') || '1', 10);
    reply(res, 200, { tears });
    return;
  }
  if (url.pathname === '/control/publish' && req.method === 'POST') {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', chunk => { body += chunk; });
    req.on('end', () => {
      let data;
      try { data = JSON.parse(body); } catch (e) { reply(res, 400, { error: String(e) }); return; }
      const name = url.searchParams.get('channel');
      const channel = server.getServerChannel(name) || server.createServerChannel(name);
      channel.publish(null, data, err => reply(res, 200, { published: !err }));
    });
    return;
  }
  reply(res, 404, { error: 'not found' });
});
// Keep Node's own request limits above the long-poll timeout.
httpServer.requestTimeout = 0;
httpServer.headersTimeout = 60000;

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => process.exit(0));
}

httpServer.listen(port, '127.0.0.1', () => {
  process.stdout.write('listening on ' + httpServer.address().port + '\n');
});
