/**
 * One HTTP exchange through node:http (node:https for an https:// URL), on a connection of its
 * own that closes after the response, so nothing keeps the CLI's process alive. The CLI's API
 * client (STRATA_API) and the reader of Temporal's HTTP API (src/temporal/http-api.ts) use it.
 *
 * Written by hand rather than with fetch: node's fetch is undici, whose HTTP parser is WebAssembly
 * compiled at the first response, about 0.15 s of CPU on this 2-core machine, half of the 300 ms a
 * `strata status` may take (issue 15); node:http parses with node's native llhttp, and undici as a
 * package is a hundred modules to load.
 */
export async function exchange(
  url: URL,
  method: string,
  headers: Record<string, string>,
  body?: string,
  timeoutMs?: number,
): Promise<{ status: number; text: string }> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`${url.protocol} is not http: or https:`);
  }
  const { request } = url.protocol === 'https:' ? await import('node:https') : await import('node:http');
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        agent: false,
        headers: body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (timeoutMs !== undefined)
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer from ${url.host} within ${timeoutMs} ms`)));
    req.end(body);
  });
}
