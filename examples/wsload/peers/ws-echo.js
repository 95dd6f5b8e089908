// Node's ws as an echo server, the peer of weft's GET /ws in
// docs/websocket.md: every message back with its type. Usage:
//   NODE_PATH=.ci/npm/node_modules node examples/wsload/peers/ws-echo.js PORT [deflate]
const { WebSocketServer } = require('ws');
const port = Number(process.argv[2] || 8082);
const deflate = process.argv[3] === 'deflate';
const wss = new WebSocketServer({
  host: '127.0.0.1', port, maxPayload: 16 << 20,
  perMessageDeflate: deflate ? { serverNoContextTakeover: true, clientNoContextTakeover: true } : false,
});
wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
console.log(`ws echo on 127.0.0.1:${port}, deflate=${deflate}`);
