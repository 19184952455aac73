// The JWKS endpoint of `strata cluster`: the Temporal server fetches the public keys of Strata's
// tokens over HTTP (its key provider reads http(s) URIs only), at start and every minute after.
// Run as its own small process: `node --import tsx src/temporal/jwks-server.ts <jwks.json> <port>`.
import fs from 'node:fs';
import http from 'node:http';

export function serveJwks(file: string, port: number, host = '127.0.0.1'): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url !== '/jwks.json' && req.url !== '/health')) {
      res.writeHead(404).end();
      return;
    }
    try {
      // Read on every request: a rotated key is served without a restart.
      const body = req.url === '/health' ? '{"ok":true}' : fs.readFileSync(file, 'utf8');
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    } catch {
      res.writeHead(503).end();
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

if (require.main === module) {
  const [file, port] = process.argv.slice(2);
  serveJwks(file, Number(port)).then(
    (server) => {
      const stop = () => server.close(() => process.exit(0));
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    },
    (err: Error) => {
      process.stderr.write(`strata jwks: cannot listen on 127.0.0.1:${port}: ${err.message}\n`);
      process.exit(1);
    },
  );
}
