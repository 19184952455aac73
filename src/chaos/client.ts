// A small client for Toxiproxy's REST API (v2.5.0: https://github.com/Shopify/toxiproxy#http-api).
// Every write is idempotent, so an activity that retries after a crash gets the same proxy and the
// same toxics, never a second copy: creating an existing proxy reuses (or updates) it, adding an
// existing toxic replaces it, deleting something already gone succeeds.

import { type Dispatcher, request } from 'undici';

export interface ToxicInfo {
  name: string;
  type: string;
  stream: 'downstream' | 'upstream';
  toxicity: number;
  attributes: Record<string, unknown>;
}

export interface ProxyInfo {
  name: string;
  /** host:port the proxy listens on (the real port once started, also when created with port 0). */
  listen: string;
  upstream: string;
  enabled: boolean;
  toxics: ToxicInfo[];
}

export interface ToxicSpec {
  type: string;
  /** Defaults to `<type>_<stream>`, as Toxiproxy names it. */
  name?: string;
  /** Defaults to downstream (upstream → client). */
  stream?: 'downstream' | 'upstream';
  /** Share of connections affected, 0..1; defaults to 1. */
  toxicity?: number;
  attributes: Record<string, unknown>;
}

/** A failed API call: says which proxy (and toxic), what was asked, and what Toxiproxy answered. */
export class ToxiproxyApiError extends Error {
  override name = 'ToxiproxyApiError';
  constructor(
    message: string,
    readonly status: number | null,
    /** Toxiproxy's own error text ("proxy not found", …) when it answered. */
    readonly apiMessage: string | null,
  ) {
    super(message);
  }
}

interface ApiResult {
  status: number;
  body: unknown;
  text: string;
}

export class ToxiproxyClient {
  readonly url: string;

  constructor(
    url: string,
    private readonly opts: { timeoutMs?: number; dispatcher?: Dispatcher } = {},
  ) {
    this.url = url.replace(/\/+$/, '');
  }

  /** The server's version ("2.5.0"). */
  async version(): Promise<string> {
    const res = await this.call('GET', '/version', undefined, 'read the version');
    this.expect(res, [200], 'read the version');
    return res.text.trim();
  }

  async listProxies(): Promise<ProxyInfo[]> {
    const res = await this.call('GET', '/proxies', undefined, 'list proxies');
    this.expect(res, [200], 'list proxies');
    return Object.values(res.body as Record<string, ProxyInfo>)
      .map(proxyInfo)
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The proxy, or null when there is none of that name. */
  async getProxy(name: string): Promise<ProxyInfo | null> {
    const what = `read proxy "${name}"`;
    const res = await this.call('GET', `/proxies/${enc(name)}`, undefined, what);
    if (res.status === 404) return null;
    this.expect(res, [200], what);
    return proxyInfo(res.body as ProxyInfo);
  }

  /**
   * Creates the proxy, or reuses one of the same name: unchanged when it listens and forwards
   * where asked (a requested port 0 matches any port), updated in place when not. An existing
   * proxy's toxics, and its enabled state unless `enabled` is given, are left as they are.
   */
  async createProxy(spec: { name: string; listen: string; upstream: string; enabled?: boolean }): Promise<ProxyInfo> {
    const what = `create proxy "${spec.name}" (listen ${spec.listen}, upstream ${spec.upstream})`;
    const res = await this.call(
      'POST',
      '/proxies',
      { name: spec.name, listen: spec.listen, upstream: spec.upstream, enabled: spec.enabled ?? true },
      what,
    );
    if (res.status === 201) return proxyInfo(res.body as ProxyInfo);
    if (res.status !== 409) this.expect(res, [201], what);

    const existing = await this.getProxy(spec.name);
    if (!existing) return this.createProxy(spec); // deleted between the two calls
    const sameListen = sameAddress(spec.listen, existing.listen);
    const sameEnabled = spec.enabled === undefined || spec.enabled === existing.enabled;
    if (sameListen && existing.upstream === spec.upstream && sameEnabled) return existing;
    return this.updateProxy(spec.name, {
      listen: sameListen ? existing.listen : spec.listen,
      upstream: spec.upstream,
      enabled: spec.enabled ?? existing.enabled,
    });
  }

  /** Changes where a proxy listens or forwards, or whether it is enabled. */
  async updateProxy(
    name: string,
    patch: { listen?: string; upstream?: string; enabled?: boolean },
  ): Promise<ProxyInfo> {
    const what = `update proxy "${name}" (${Object.entries(patch)
      .map(([k, v]) => `${k} ${String(v)}`)
      .join(', ')})`;
    const res = await this.call('POST', `/proxies/${enc(name)}`, patch, what);
    this.expect(res, [200], what);
    return proxyInfo(res.body as ProxyInfo);
  }

  /** Deletes the proxy (closing its connections); true if it existed. */
  async deleteProxy(name: string): Promise<boolean> {
    const what = `delete proxy "${name}"`;
    const res = await this.call('DELETE', `/proxies/${enc(name)}`, undefined, what);
    if (res.status === 404) return false;
    this.expect(res, [204], what);
    return true;
  }

  /** Disabling closes every connection and stops listening: a full outage of the upstream. */
  async setEnabled(name: string, enabled: boolean): Promise<ProxyInfo> {
    return this.updateProxy(name, { enabled });
  }

  async listToxics(proxy: string): Promise<ToxicInfo[]> {
    const what = `list the toxics of proxy "${proxy}"`;
    const res = await this.call('GET', `/proxies/${enc(proxy)}/toxics`, undefined, what);
    this.expect(res, [200], what);
    return res.body as ToxicInfo[];
  }

  /**
   * Adds a toxic, or replaces the toxic of the same name: its attributes and toxicity are updated
   * in place when type and stream match, otherwise it is removed and added again.
   */
  async addToxic(proxy: string, spec: ToxicSpec): Promise<ToxicInfo> {
    const stream = spec.stream ?? 'downstream';
    const name = spec.name ?? `${spec.type}_${stream}`;
    const toxicity = spec.toxicity ?? 1;
    const what = `add ${spec.type} toxic "${name}" to proxy "${proxy}"`;
    const body = { name, type: spec.type, stream, toxicity, attributes: spec.attributes };
    const res = await this.call('POST', `/proxies/${enc(proxy)}/toxics`, body, what);
    if (res.status === 200) return res.body as ToxicInfo;
    if (res.status !== 409) this.expect(res, [200], what);

    const existing = (await this.listToxics(proxy)).find((t) => t.name === name);
    if (existing && existing.type === spec.type && existing.stream === stream) {
      const updateWhat = `update ${spec.type} toxic "${name}" of proxy "${proxy}"`;
      const update = await this.call(
        'POST',
        `/proxies/${enc(proxy)}/toxics/${enc(name)}`,
        { toxicity, attributes: spec.attributes },
        updateWhat,
      );
      this.expect(update, [200], updateWhat);
      return update.body as ToxicInfo;
    }
    await this.removeToxic(proxy, name);
    const again = await this.call('POST', `/proxies/${enc(proxy)}/toxics`, body, what);
    this.expect(again, [200], what);
    return again.body as ToxicInfo;
  }

  /** Removes a toxic; true if it was there (a missing toxic or proxy is not an error). */
  async removeToxic(proxy: string, toxicName: string): Promise<boolean> {
    const what = `remove toxic "${toxicName}" from proxy "${proxy}"`;
    const res = await this.call('DELETE', `/proxies/${enc(proxy)}/toxics/${enc(toxicName)}`, undefined, what);
    if (res.status === 404) return false;
    this.expect(res, [204], what);
    return true;
  }

  /** Enables every proxy and removes every toxic (proxies themselves stay). */
  async resetAll(): Promise<void> {
    const res = await this.call('POST', '/reset', undefined, 'reset all proxies');
    this.expect(res, [204], 'reset all proxies');
  }

  // ---------------------------------------------------------------------------------------------

  private async call(
    method: 'GET' | 'POST' | 'DELETE',
    pathname: string,
    body: unknown,
    what: string,
  ): Promise<ApiResult> {
    const timeout = this.opts.timeoutMs ?? 10_000;
    try {
      const res = await request(`${this.url}${pathname}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        headersTimeout: timeout,
        bodyTimeout: timeout,
        dispatcher: this.opts.dispatcher,
      });
      const text = await res.body.text();
      let parsed: unknown = undefined;
      // Errors come as JSON with a text/plain content type (Go's http.Error): parse what parses.
      if (/^\s*[[{]/.test(text)) {
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined;
        }
      }
      return { status: res.statusCode, body: parsed, text };
    } catch (err) {
      const code = (err as { code?: string }).code;
      throw new ToxiproxyApiError(
        `toxiproxy: cannot ${what}: no answer from ${this.url} (${code ?? (err as Error).message}); is Toxiproxy running?`,
        null,
        null,
      );
    }
  }

  private expect(res: ApiResult, ok: number[], what: string): void {
    if (ok.includes(res.status)) return;
    const apiMessage =
      res.body && typeof res.body === 'object' && typeof (res.body as { error?: unknown }).error === 'string'
        ? (res.body as { error: string }).error
        : res.text.trim().slice(0, 300) || null;
    throw new ToxiproxyApiError(
      `toxiproxy: cannot ${what}: ${res.status} ${apiMessage ?? '(empty answer)'}`,
      res.status,
      apiMessage,
    );
  }
}

/** Only the documented fields (v2.5.0 also serialises an internal "Logger"). */
function proxyInfo(raw: ProxyInfo): ProxyInfo {
  return { name: raw.name, listen: raw.listen, upstream: raw.upstream, enabled: raw.enabled, toxics: raw.toxics ?? [] };
}

function enc(segment: string): string {
  return encodeURIComponent(segment);
}

/**
 * True when `actual` (what Toxiproxy reports) is the address `requested` asked for: same port, or
 * any port when port 0 was asked; "localhost" is 127.0.0.1, and a wildcard host matches any host.
 */
export function sameAddress(requested: string, actual: string): boolean {
  const a = splitHostPort(requested);
  const b = splitHostPort(actual);
  if (!a || !b) return requested === actual;
  const wildcard = (h: string) => h === '' || h === '0.0.0.0' || h === '::' || h === '[::]';
  const norm = (h: string) => (h === 'localhost' ? '127.0.0.1' : h.replace(/^\[|\]$/g, ''));
  const hostOk = wildcard(a.host) || norm(a.host) === norm(b.host);
  return hostOk && (a.port === 0 || a.port === b.port);
}

function splitHostPort(address: string): { host: string; port: number } | null {
  const i = address.lastIndexOf(':');
  if (i < 0) return null;
  const port = Number(address.slice(i + 1));
  if (!Number.isInteger(port)) return null;
  return { host: address.slice(0, i), port };
}
