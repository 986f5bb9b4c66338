'use strict';
// A Faye 1.4.3 Bayeux server for the Go SDK's interop tests.
//
//   node server_faye.js PORT        (PORT 0 = pick a free port)
//
// Binds 127.0.0.1, mounts faye.NodeAdapter at /bayeux (long-polling,
// callback-polling, websocket, ... all on that path) and prints
// "listening on PORT" once it accepts connections.
//
// Environment:
//   FAYE_TIMEOUT   long-poll timeout in seconds (default 2); Faye forgets a
//                  client that sends no /meta/connect for 2 x FAYE_TIMEOUT.
//   WIRE_LOG=1     log every message in and out to stderr.
//   FAYE_UNPATCHED=1  run Faye without the crash fix below.
//   FAYE_REDIS_PORT   keep the state in the Redis server on 127.0.0.1 at
//                     that port (the faye-redis engine): several nodes
//                     started with the same port form one cluster.
//   FAYE_HOSTS        comma-separated host:port of other nodes: handshake
//                     and connect replies then advise "hosts" (this node
//                     first, then those), the Bayeux failover advice.
//   FAYE_MAX_INTERVAL advise this maxInterval (ms) in those replies.
//
// Test hooks (not part of Faye):
//   /service/echo     a publish there is answered with the request's data in
//                     the publish reply ({"id","channel","successful":true,
//                     "data"}), the shape of a CometD remote-call reply.
//   /forbidden/**     publish and subscribe are denied by an extension with
//                     "403:<channel>:Forbidden channel".
//   GET  /control/session?clientId=ID   {"exists":bool}
//   POST /control/destroy?clientId=ID   drops the session on the server (as
//                                       an expiry would), {"destroyed":bool}
//   POST /control/publish?channel=CH    publishes the request body (JSON) from
//                                       the server-side client
const http = require('http');
const faye = require('faye');

const port = parseInt(process.argv[2] || '0', 10);
const timeout = parseFloat(process.env.FAYE_TIMEOUT || '2');
const log = process.env.WIRE_LOG === '1';

const options = { mount: '/bayeux', timeout: timeout };
if (process.env.FAYE_REDIS_PORT) {
  options.engine = { type: require('faye-redis'), host: '127.0.0.1', port: parseInt(process.env.FAYE_REDIS_PORT, 10) };
}
const bayeux = new faye.NodeAdapter(options);
const engine = bayeux._server._engine;

// Faye 1.4.3 bug: when a client goes away during a callback-polling (GET)
// request that is still being processed (a held /meta/connect), the
// request's 'error' event makes the adapter answer 400 at once; when the
// held reply comes later, writeHead throws ERR_HTTP_HEADERS_SENT, uncaught,
// and the whole server process exits. Any JSONP client that closes a held
// connect kills the server (see docs/interop.md). The fix: when the client is
// already gone, write nothing, and let the later reply be dropped quietly.
if (process.env.FAYE_UNPATCHED !== '1') {
  const returnError = bayeux._returnError;
  bayeux._returnError = function(response, error) {
    if (response && (response.headersSent || response.destroyed || (response.socket && response.socket.destroyed))) {
      if (log) process.stderr.write('client gone, no 400 written: ' + (error && error.message) + '\n');
      response.writeHead = () => response;
      response.end = () => response;
      return;
    }
    return returnError.call(this, response, error);
  };
}

// wire logs one message (WIRE_LOG=1), cut to 2000 characters.
function wire(prefix, message) {
  let s = JSON.stringify(message);
  if (s.length > 2000) s = s.slice(0, 2000) + '...(' + s.length + ' chars)';
  process.stderr.write(prefix + s + '\n');
}

function channelsOf(message) {
  if (message.channel === '/meta/subscribe') return [].concat(message.subscription || []);
  return [message.channel];
}

// Data of /service/echo requests, keyed by clientId and message id, until
// the reply goes out.
const echoes = new Map();

bayeux.addExtension({
  incoming(message, request, callback) {
    if (log) wire('in  ', message);
    const denied = channelsOf(message).find(c => typeof c === 'string' && c.startsWith('/forbidden/'));
    if (denied && (message.channel === '/meta/subscribe' || !message.channel.startsWith('/meta/'))) {
      message.error = '403:' + denied + ':Forbidden channel';
    } else if (message.channel === '/service/echo' && message.id !== undefined) {
      echoes.set((message.clientId || '') + '\u0000' + message.id, message.data);
    }
    callback(message);
  },
  outgoing(message, request, callback) {
    if (message.channel === '/meta/handshake' || message.channel === '/meta/connect') {
      const others = (process.env.FAYE_HOSTS || '').split(',').filter(h => h);
      const maxInterval = process.env.FAYE_MAX_INTERVAL;
      if (others.length > 0 || maxInterval) {
        message.advice = Object.assign({}, message.advice);
        if (others.length > 0) message.advice.hosts = ['127.0.0.1:' + server.address().port].concat(others);
        if (maxInterval) message.advice.maxInterval = parseInt(maxInterval, 10);
      }
    }
    if (message.channel === '/service/echo' && 'successful' in message) {
      const key = (message.clientId || '') + '\u0000' + message.id;
      if (echoes.has(key)) {
        if (message.successful) message.data = echoes.get(key);
        echoes.delete(key);
      }
    }
    if (log) wire('out ', message);
    callback(message);
  },
});

function reply(res, status, body) {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://127.0.0.1');
  const clientId = url.searchParams.get('clientId') || '';
  if (url.pathname === '/control/session' && req.method === 'GET') {
    engine.clientExists(clientId, exists => reply(res, 200, { exists: exists }));
    return;
  }
  if (url.pathname === '/control/destroy' && req.method === 'POST') {
    engine.clientExists(clientId, exists => {
      if (exists) engine.destroyClient(clientId);
      reply(res, 200, { destroyed: exists });
    });
    return;
  }
  if (url.pathname === '/control/publish' && req.method === 'POST') {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', chunk => { body += chunk; });
    req.on('end', () => {
      let data;
      try { data = JSON.parse(body); } catch (e) { reply(res, 400, { error: String(e) }); return; }
      bayeux.getClient().publish(url.searchParams.get('channel'), data).then(
        () => reply(res, 200, { published: true }),
        err => reply(res, 200, { published: false, error: String(err && err.message || err) }));
    });
    return;
  }
  reply(res, 404, { error: 'not found' });
});
bayeux.attach(server);

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => process.exit(0));
}

server.listen(port, '127.0.0.1', () => {
  process.stdout.write('listening on ' + server.address().port + '\n');
});
