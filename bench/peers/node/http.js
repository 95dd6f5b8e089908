'use strict';
// node-http: node:http with hand-written routing. /cpu runs the job on a
// piscina worker thread; /cpu-block runs it on the event loop. GET /ws is
// the `ws` package's echo (every message back with its type, up to 16 MiB;
// permessage-deflate accepted with WS_COMPRESS=1, off by default as in ws).
const http = require('node:http');
const { WebSocketServer } = require('ws');
const { HELLO, KEEP_ALIVE_MS, port, jobFromEnv, cpuJob, makePool, exitOnSignal } = require('./common');

const job = jobFromEnv();
const pool = makePool();

function send(res, status, type, body) {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function handle(req, res) {
  const q = req.url.indexOf('?');
  const path = q < 0 ? req.url : req.url.slice(0, q);
  if (req.method === 'GET') {
    if (path === '/plaintext') return send(res, 200, 'text/plain', HELLO);
    if (path === '/json') return send(res, 200, 'application/json', JSON.stringify({ message: HELLO }));
    if (path.startsWith('/users/')) {
      const id = path.slice('/users/'.length);
      if (id !== '' && !id.includes('/')) return send(res, 200, 'application/json', JSON.stringify({ id }));
    }
    if (path === '/cpu') {
      pool.run(job).then(
        (digest) => send(res, 200, 'text/plain', digest),
        (err) => send(res, 500, 'text/plain', String(err)),
      );
      return undefined;
    }
    if (path === '/cpu-block') return send(res, 200, 'text/plain', cpuJob(job));
  } else if (req.method === 'POST' && path === '/echo') {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      send(res, 200, req.headers['content-type'] || 'application/octet-stream', body);
    });
    return undefined;
  }
  return send(res, 404, 'text/plain', 'not found');
}

const server = http.createServer(handle);
server.keepAliveTimeout = KEEP_ALIVE_MS;

const wss = new WebSocketServer({
  noServer: true,
  maxPayload: 16 << 20,
  perMessageDeflate: process.env.WS_COMPRESS === '1',
});
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => ws.terminate());
});
server.on('upgrade', (req, socket, head) => {
  if (req.url !== '/ws') {
    socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
});
server.listen(port(), '127.0.0.1');
exitOnSignal();
