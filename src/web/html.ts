// The web inbox's HTML: escaping, and the page frame every page shares (skip link, header with the
// signed-in identity, the stylesheet and script served from /ui/assets, never a CDN).

export function escapeHtml(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** A tagged template that escapes every interpolated value unless it is `raw(...)`. */
export class Raw {
  constructor(readonly html: string) {}
}
export const raw = (html: string) => new Raw(html);

export function html(strings: TemplateStringsArray, ...values: unknown[]): Raw {
  let out = strings[0];
  values.forEach((v, i) => {
    out += render(v) + strings[i + 1];
  });
  return new Raw(out);
}

function render(v: unknown): string {
  if (v instanceof Raw) return v.html;
  if (Array.isArray(v)) return v.map(render).join('');
  if (v === undefined || v === null || v === false) return '';
  return escapeHtml(v);
}

export interface Frame {
  title: string;
  /** Who is signed in; absent on the sign-in page. */
  who?: { display: string; actor: string; roles: string[]; csrf: string };
  body: Raw;
}

export function page(f: Frame): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(f.title)} · Strata</title>
<link rel="stylesheet" href="/ui/assets/web.css">
<script src="/ui/assets/web.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header>
<nav aria-label="Main">
<a class="brand" href="/">Strata</a>
${f.who ? '<a href="/">Inbox</a> <a href="/ui/audit">Audit</a>' : ''}
</nav>
${
  f.who
    ? html`<form class="who" method="post" action="/ui/logout">
        <span title="${f.who.actor}">${f.who.display}</span>
        <span class="muted">(${f.who.roles.join(', ') || 'no role'})</span>
        <input type="hidden" name="csrf" value="${f.who.csrf}" />
        <button type="submit">Sign out</button>
      </form>`.html
    : ''
}
</header>
<main id="main" tabindex="-1">
${f.body.html}
</main>
</body>
</html>
`;
}

/** "3 h 12 min", "45 s": a duration for people. */
export function humanDuration(ms: number): string {
  const s = Math.round(Math.abs(ms) / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** A <time> element: the ISO time as its datetime, shown in UTC. */
export function time(iso: string | null | undefined): Raw {
  if (!iso) return raw('<span class="muted">—</span>');
  return html`<time datetime="${iso}">${iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}</time>`;
}
