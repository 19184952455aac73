// A tiny HTTP server in a child process (plain node, no TypeScript loader: it starts in ~50 ms),
// standing in for a dependency behind the fault-injection proxy, and for the proxy benchmark.
//   GET /          200 "ok" (2 bytes)
//   GET /bytes?n=N 200 with N bytes (for bandwidth limits)

import { type ChildProcess, spawn } from 'node:child_process';
import readline from 'node:readline';

const SERVER = `
const http = require('node:http');
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://upstream');
  if (url.pathname === '/bytes') {
    const n = Math.max(0, Number(url.searchParams.get('n') || '0'));
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': n });
    res.end(Buffer.alloc(n, 120));
    return;
  }
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 2 });
  res.end('ok');
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ msg: 'listening', port: server.address().port }) + '\\n');
});
process.on('SIGTERM', () => process.exit(0));
`;

export interface Upstream {
  /** http://127.0.0.1:port */
  url: string;
  /** 127.0.0.1:port, as a proxy's upstream. */
  address: string;
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

export async function startUpstream(): Promise<Upstream> {
  const child = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the upstream server did not start in 10 s')), 10_000);
    readline.createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      resolve((JSON.parse(line) as { port: number }).port);
    });
    void exited.then(() => reject(new Error('the upstream server exited before listening')));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    address: `127.0.0.1:${port}`,
    port,
    process: child,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
