// The front of a postgres environment's candidate: a small HTTP relay on the environment's stable
// address that forwards each request to the candidate process named in its upstream file. A
// credential rotation starts the candidate again with the new login beside the old one, points
// this file at the new process once it is healthy, and only then stops the old one: clients keep
// one address and no request fails while the process changes.
//
// Run as: node --import tsx front.ts (env PORT, STRATA_FRONT_UPSTREAM_FILE holding {"port": n}).
// A request is forwarded on a connection of its own (no reuse, so no race with an old process
// closing idle sockets); a connection refused before anything was sent is retried against the
// upstream file read again, which covers the moment an old process stops listening.

import fs from 'node:fs';
import http from 'node:http';

const upstreamFile = process.env.STRATA_FRONT_UPSTREAM_FILE ?? '';
const port = Number(process.env.PORT);
/** How long a request may wait for a candidate that refuses connections (a restart) before a 502. */
const RETRY_FOR_MS = 15_000;
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade'];

function upstreamPort(): number | null {
  try {
    const value = (JSON.parse(fs.readFileSync(upstreamFile, 'utf8')) as { port?: unknown }).port;
    return typeof value === 'number' ? value : null;
  } catch {
    return null;
  }
}

function forward(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer, deadline: number): void {
  const target = upstreamPort();
  const retry = (): boolean => {
    if (Date.now() >= deadline) return false;
    setTimeout(() => forward(req, res, body, deadline), 50);
    return true;
  };
  if (target === null) {
    if (retry()) return;
    res.writeHead(502, { 'content-type': 'text/plain' }).end('no candidate is deployed');
    return;
  }
  const headers = { ...req.headers };
  for (const h of HOP_BY_HOP) delete headers[h];
  const out = http.request(
    { host: '127.0.0.1', port: target, method: req.method, path: req.url, headers, agent: false },
    (up) => {
      const back = { ...up.headers };
      for (const h of HOP_BY_HOP) delete back[h];
      res.writeHead(up.statusCode ?? 502, back);
      up.pipe(res);
      up.on('error', () => res.destroy());
    },
  );
  out.on('error', (err: NodeJS.ErrnoException) => {
    // Refused: nothing reached the candidate, so sending again cannot do anything twice.
    if (!res.headersSent && err.code === 'ECONNREFUSED' && retry()) return;
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' }).end('candidate unavailable');
    else res.destroy();
  });
  out.end(body);
}

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => forward(req, res, Buffer.concat(chunks), Date.now() + RETRY_FOR_MS));
});
server.keepAliveTimeout = 30_000;
server.listen(port, '127.0.0.1', () => console.log(JSON.stringify({ msg: 'front listening', port })));

const stop = (): void => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), 5_000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
