// GET /status: one HTML page, no build step and nothing fetched from elsewhere (inline CSS and JS,
// works offline), that polls GET /status.json every 2 s and draws every source, sink, webhook and
// fleet member, events/s per source as an inline SVG chart, the newest events and dead letters.
// Served beside /metrics: by the REST app, and by `sluice run`'s metrics server without one.
import type { Hono } from 'hono';
import type { AppEnv } from './env.js';
import type { StatusSource } from './status-board.js';

export function statusRoutes(app: Hono<AppEnv>, source: StatusSource): void {
  app.get('/status', (c) => c.html(STATUS_HTML, 200, { 'cache-control': 'no-store' }));
  app.get('/status.json', async (c) => {
    try {
      return c.json(await source.snapshot(), 200, { 'cache-control': 'no-store' });
    } catch (err) {
      return c.json(
        { type: 'about:blank', title: 'Status unavailable', status: 503, detail: String(err) },
        503,
        { 'content-type': 'application/problem+json' },
      );
    }
  });
}

export const STATUS_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Sluice status</title>
<style>
:root{--bg:#fafafa;--fg:#1b1f24;--mut:#667;--ok:#1a7f37;--warn:#9a6700;--bad:#cf222e;--line:#d0d7de}
*{box-sizing:border-box}body{margin:0;font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;background:var(--bg);color:var(--fg)}
header{display:flex;gap:1rem;align-items:baseline;padding:.8rem 1.2rem;border-bottom:1px solid var(--line);background:#fff}
h1{font-size:1.2rem;margin:0}h2{font-size:1rem;margin:1.2rem 0 .4rem}main{padding:0 1.2rem 2rem}
#conn{color:var(--mut)}#conn.bad{color:var(--bad)}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid var(--line)}
th,td{text-align:left;padding:.35rem .6rem;border-bottom:1px solid var(--line);vertical-align:top}
th{font-weight:600;background:#f3f4f6;font-size:.85rem}td.num{text-align:right;font-variant-numeric:tabular-nums}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace}
.st{font-weight:600}.st.streaming,.st.running,.st.ok{color:var(--ok)}.st.failed,.st.bad{color:var(--bad)}.st.other{color:var(--warn)}
.empty{color:var(--mut);font-style:italic}svg.spark{display:block}small{color:var(--mut)}
</style></head>
<body><header><h1>Sluice status</h1><span id="conn">loading…</span></header>
<main>
<h2>Sources</h2><div id="sources"></div>
<h2>Webhooks</h2><div id="webhooks"></div>
<h2>Sinks</h2><div id="sinks"></div>
<h2>Fleet members</h2><div id="members"></div>
<h2>Dead letters</h2><div id="dlq"></div>
<h2>Last events</h2><div id="events"></div>
</main>
<script>
"use strict";
const esc = (v) => String(v ?? "").replace(/[&<>"']/g, (c) => ({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;","'":"&#39;"}[c]));
const bytes = (n) => { if (typeof n !== "number") return ""; const u = ["B","kB","MB","GB","TB"]; let i = 0; while (n >= 1024 && i < 4) { n /= 1024; i++; } return n.toFixed(i ? 1 : 0) + " " + u[i]; };
const cls = (s) => /^(streaming|running)/.test(s) ? "streaming" : /fail/.test(s ?? "") ? "failed" : "other";
const ago = (iso) => { if (!iso) return ""; const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000); return s < 90 ? s.toFixed(0) + " s ago" : (s / 60).toFixed(0) + " min ago"; };
function table(head, rows, empty) {
  if (!rows.length) return '<p class="empty">' + esc(empty) + "</p>";
  return "<table><thead><tr>" + head.map((h) => "<th>" + esc(h) + "</th>").join("") + "</tr></thead><tbody>" +
    rows.map((r) => "<tr>" + r.join("") + "</tr>").join("") + "</tbody></table>";
}
const td = (v, c) => "<td" + (c ? ' class="' + c + '"' : "") + ">" + v + "</td>";
function spark(points) {
  const w = 160, h = 32;
  if (!points || points.length < 2) return '<small>collecting…</small>';
  const max = Math.max(1, ...points.map((p) => p.perSec));
  const t0 = points[0].t, t1 = points[points.length - 1].t, span = Math.max(1, t1 - t0);
  const xy = points.map((p) => ((p.t - t0) / span * (w - 2) + 1).toFixed(1) + "," + (h - 1 - p.perSec / max * (h - 4)).toFixed(1));
  return '<svg class="spark" width="' + w + '" height="' + h + '" viewBox="0 0 ' + w + " " + h + '" role="img" aria-label="events per second">' +
    '<polyline fill="none" stroke="#0969da" stroke-width="1.5" points="' + xy.join(" ") + '"/></svg>';
}
const holder = (r) => r.instance ? esc(r.instance) + "<br><small>" + esc(r.host) + " pid " + esc(r.pid) + "</small>" : esc(r.owner ?? "—");
const details = (r, skip) => Object.entries(r).filter(([k]) => !skip.includes(k)).map(([k, v]) => "<small>" + esc(k) + "</small> " + esc(Array.isArray(v) ? v.join(", ") : typeof v === "object" && v !== null ? JSON.stringify(v) : v)).join("<br>");
function render(s) {
  const sources = s.rows.filter((r) => typeof r.source === "string" && r.kind !== "webhook");
  document.getElementById("sources").innerHTML = table(
    ["source", "state", "lease holder", "committed position", "lag", "events/s (last minutes)", "dead letters"],
    sources.map((r) => {
      const pts = s.rates[r.source] || [];
      const now = pts.length ? pts[pts.length - 1].perSec : null;
      const l = s.latest[r.source];
      return [
        td("<b>" + esc(r.source) + "</b><br><small>" + esc(r.kind) + "</small>"),
        td('<span class="st ' + cls(r.state) + '" data-state="' + esc(r.state) + '">' + esc(r.state) + "</span>" + (r.detail ? "<br><small>" + esc(r.detail) + "</small>" : "")),
        td(holder(r)),
        td("<code>" + esc(r.offset ?? "—") + "</code><br><small>" + esc(ago(r.committedAt)) + "</small>"),
        td((typeof r.lagBytes === "number" ? bytes(r.lagBytes) : "—") + "<br><small>" + (l && l.lagSeconds !== null ? l.lagSeconds.toFixed(2) + " s behind commit" : "no events") + "</small>", "num"),
        td(spark(pts) + "<small>" + (now === null ? "" : now + " /s now") + "</small>"),
        td(String(s.dlq[r.source] ?? 0), "num"),
      ];
    }), "no sources configured");
  document.getElementById("webhooks").innerHTML = table(["webhook", "state", "details", "dead letters"],
    s.rows.filter((r) => r.kind === "webhook").map((r) => [td("<b>" + esc(r.source) + "</b>"),
      td('<span class="st ' + cls(r.state) + '">' + esc(r.state) + "</span>"), td(details(r, ["source", "kind", "state"])),
      td(String(s.dlq["webhooks." + r.source] ?? 0), "num")]), "no webhooks configured");
  document.getElementById("sinks").innerHTML = table(["sink", "from", "state", "details", "dead letters"],
    s.rows.filter((r) => typeof r.sink === "string").map((r) => [td("<b>" + esc(r.sink) + "</b>"), td(esc(r.from)),
      td('<span class="st ' + cls(r.state) + '">' + esc(r.state) + "</span>"), td(details(r, ["sink", "from", "state"])),
      td(String(s.dlq["sinks." + r.sink] ?? 0), "num")]), "no sinks configured");
  document.getElementById("members").innerHTML = table(["instance", "host", "pid", "started", "sources held"],
    s.rows.filter((r) => typeof r.member === "string").map((r) => [td("<code>" + esc(r.member) + "</code>"), td(esc(r.host)),
      td(esc(r.pid), "num"), td(esc(ago(r.startedAt))), td(esc((r.sources || []).join(", ")))]), "no running process has announced itself");
  document.getElementById("dlq").innerHTML = table(["subject", "messages"],
    Object.entries(s.dlq).map(([k, n]) => [td("<code>dlq." + esc(k) + "</code>"), td(String(n), "num")]), "none");
  document.getElementById("events").innerHTML = table(["seq", "subject", "key", "stored"],
    s.lastEvents.map((e) => [td(String(e.seq), "num"), td("<code>" + esc(e.subject) + "</code>"), td("<code>" + esc(e.key ?? "") + "</code>"), td(esc(ago(e.time)))]), "the stream is empty");
}
async function poll() {
  const conn = document.getElementById("conn");
  try {
    const res = await fetch("status.json", { cache: "no-store" });
    if (!res.ok) throw new Error("HTTP " + res.status);
    const s = await res.json();
    render(s);
    conn.textContent = "updated " + new Date(s.at).toLocaleTimeString();
    conn.className = "";
    document.body.dataset.updated = s.at;
  } catch (e) {
    conn.textContent = "cannot reach sluice (" + e.message + "); retrying";
    conn.className = "bad";
  }
  setTimeout(poll, 2000);
}
poll();
</script></body></html>
`;
