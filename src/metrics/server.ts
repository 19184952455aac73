// /metrics over HTTP: Strata's registry, then the Temporal Core SDK's own metrics (pollers, task
// slots, latencies), which Core serves on a loopback port of its own and this endpoint fetches,
// so Prometheus scrapes one target per worker. `strata serve` can mount metricsHandler too.
import http from 'node:http';
import { logger } from '../log/logger';
import { metricsRegistry } from './registry';

export interface MetricsSource {
  /** Called before each scrape (the Temporal visibility collector). */
  refresh?: () => Promise<void>;
  /** Core SDK's Prometheus endpoint, e.g. http://127.0.0.1:9465/metrics. */
  coreUrl?: string;
}

/** The text exposition Prometheus scrapes: Strata's metrics, then Core's. */
export async function renderMetrics(source: MetricsSource = {}): Promise<string> {
  if (source.refresh) {
    await source.refresh().catch((err) => logger.warn({ err }, 'metrics: could not read Temporal visibility'));
  }
  const parts = [await metricsRegistry.metrics()];
  if (source.coreUrl) {
    try {
      const res = await fetch(source.coreUrl, { signal: AbortSignal.timeout(2000) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      parts.push(await res.text());
    } catch (err) {
      // Strata's own metrics still go out; the gap shows as missing temporal_* series.
      logger.warn({ err, coreUrl: source.coreUrl }, 'metrics: could not read the Core SDK metrics');
    }
  }
  return parts.map((p) => (p.endsWith('\n') ? p : `${p}\n`)).join('');
}

/** A Node request handler for GET /metrics (404 elsewhere). */
export function metricsHandler(source: MetricsSource = {}): http.RequestListener {
  return (req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /metrics\n');
      return;
    }
    renderMetrics(source).then(
      (body) => res.writeHead(200, { 'content-type': metricsRegistry.contentType }).end(body),
      (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${err.message}\n`),
    );
  };
}

export interface MetricsServer {
  port: number;
  url: string;
  close(): Promise<void>;
}

/** Serves /metrics on host:port (port 0: any free port). */
export function startMetricsServer(opts: { port: number; host?: string } & MetricsSource): Promise<MetricsServer> {
  const host = opts.host ?? '0.0.0.0';
  const server = http.createServer(metricsHandler(opts));
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new Error(`--metrics-port ${opts.port}: cannot listen on ${host}:${opts.port} (${err.code ?? err.message})`),
      ),
    );
    server.listen(opts.port, host, () => {
      const port = (server.address() as { port: number }).port;
      resolve({
        port,
        url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}/metrics`,
        close: () => new Promise<void>((r) => server.close(() => r())),
      });
    });
  });
}
