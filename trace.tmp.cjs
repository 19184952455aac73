const Module = require('module');
const orig = Module._load;
const seen = new Set();
const heavy = /node_modules\/(@faker-js|fastify|@fastify|better-sqlite3|@opentelemetry|hdr-histogram-js|pino|jose|prom-client|undici|libphonenumber-js|pure-rand|canonicalize|@temporalio\/worker|pg|yaml|zod)\//;
Module._load = function (request, parent, isMain) {
  const res = (() => { try { return Module._resolveFilename(request, parent, isMain); } catch { return request; } })();
  const m = heavy.exec(res);
  if (m && !seen.has(m[1])) {
    seen.add(m[1]);
    const chain = [];
    let p = parent;
    while (p && chain.length < 8) { if (!p.filename.includes('node_modules')) chain.push(p.filename.replace('/work/main/', '')); p = p.parent; }
    console.error(m[1], '<=', chain.join(' <- '));
  }
  return orig.apply(this, arguments);
};
