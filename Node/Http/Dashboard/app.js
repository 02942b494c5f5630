// PeerPatch dashboard: polls this node's /v1/lan (every node's status, gathered by the node), the LAN server's
// /v1/patches and /v1/events, and draws them. No framework and no remote assets: it must work on an offline LAN.
"use strict";

const $ = id => document.getElementById(id);
const state = { lan: null, history: [], patches: null, events: [], error: null };

function bytes(n) {
  if (n == null) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : n.toFixed(1)) + " " + units[i];
}
function duration(s) {
  if (s < 60) return s + " s";
  if (s < 3600) return Math.floor(s / 60) + " min";
  if (s < 86400) return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
  return Math.floor(s / 86400) + " d " + Math.floor((s % 86400) / 3600) + " h";
}
function text(tag, content, cls) {
  const e = document.createElement(tag);
  e.textContent = content;
  if (cls) e.className = cls;
  return e;
}
function row(cells, cls) {
  const tr = document.createElement("tr");
  if (cls) tr.className = cls;
  for (const c of cells) tr.appendChild(c instanceof Node ? c : text("td", c));
  return tr;
}
function num(v) { return text("td", v, "num"); }
function badge(label, cls) { const td = document.createElement("td"); td.appendChild(text("span", label, "badge " + (cls || ""))); return td; }
async function getJson(url) {
  const r = await fetch(url, { cache: "no-store" });
  if (!r.ok) throw new Error(url + ": " + r.status);
  return r.json();
}
function httpBase(address, port) {
  return "http://" + (address.includes(":") ? "[" + address + "]" : address) + ":" + port;
}

// Every node the survey reached (self first), with where its HTTP API is.
function allNodes(lan) {
  const self = { status: lan.self, base: "", address: location.hostname, error: null };
  const others = lan.nodes.map(n => ({ status: n.status, base: httpBase(n.member.address, n.member.httpPort), address: n.member.address, member: n.member, error: n.error }));
  return [self, ...others];
}

function serverOf(nodes) {
  const servers = nodes.filter(n => n.status && n.status.role === "server");
  return { servers, server: servers.sort((a, b) => b.status.term - a.status.term)[0] || null };
}

async function refresh(withHistory) {
  try {
    const lan = await getJson("/v1/lan" + (withHistory ? "?history=1" : ""));
    state.lan = lan;
    if (lan.history) state.history = lan.history;
    const nodes = allNodes(lan);
    const { server } = serverOf(nodes);
    const base = server ? server.base : "";
    const [patches, serverEvents, ownEvents] = await Promise.all([
      getJson(base + "/v1/patches").catch(() => null),
      server && server.base ? getJson(base + "/v1/events?max=50").catch(() => []) : Promise.resolve([]),
      getJson("/v1/events?max=50").catch(() => []),
    ]);
    state.patches = patches;
    state.patchesFrom = server ? (server.base ? server.status.nodeId : "this node") : "this node";
    const seen = new Set();
    state.events = [...serverEvents.map(e => ({ ...e, node: server.status.nodeId })), ...ownEvents.map(e => ({ ...e, node: lan.self.nodeId }))]
      .filter(e => { const k = e.at + e.kind + e.message; if (seen.has(k)) return false; seen.add(k); return true; })
      .sort((a, b) => (a.at < b.at ? 1 : -1)).slice(0, 60);
    state.error = null;
  } catch (e) {
    state.error = String(e.message || e);
  }
  render();
}

function render() {
  const lan = state.lan;
  $("meta").textContent = state.error ? "error: " + state.error : lan ? "node " + lan.self.nodeId + " · updated " + new Date().toLocaleTimeString() : "loading…";
  $("meta").className = state.error ? "error" : "";
  if (!lan) return;
  const nodes = allNodes(lan);
  const { servers, server } = serverOf(nodes);
  $("server").textContent = server ? server.status.nodeId : "none";
  $("server-detail").textContent = servers.length > 1
    ? servers.length + " nodes claim to be server!"
    : server ? (server.status.host + " · " + (server.base ? server.address : "this node") + " · term " + server.status.term) : "no node is serving the LAN";
  const up = nodes.filter(n => n.status).length;
  $("nodes-count").textContent = up + (up === nodes.length ? "" : " / " + nodes.length);
  $("nodes-detail").textContent = up === nodes.length ? "all answering" : (nodes.length - up) + " not answering";

  let internet = 0, lanIn = 0;
  for (const n of nodes) if (n.status) { internet += n.status.stats.internetBytes; lanIn += n.status.stats.lanBytesFetched; }
  const total = internet + lanIn;
  $("savings").textContent = total ? Math.round((100 * lanIn) / total) + " %" : "–";
  $("savings-detail").textContent = bytes(lanIn) + " from the LAN, " + bytes(internet) + " from the internet";

  let byPeers = 0, byServer = 0, busy = 0;
  for (const n of nodes) if (n.status) { byPeers += n.status.stats.bytesServedAsPeer || 0; byServer += n.status.stats.bytesServedAsServer || 0; busy += n.status.stats.uploadsBusy || 0; }
  $("peer-share").textContent = byPeers + byServer ? Math.round((100 * byPeers) / (byPeers + byServer)) + " %" : "–";
  $("peer-share-detail").textContent = bytes(byPeers) + " by peers, " + bytes(byServer) + " by the server · " + busy + " busy (503)";

  const tbody = $("nodes").querySelector("tbody");
  tbody.replaceChildren(...nodes.map(n => {
    const s = n.status;
    if (!s) return row([n.member.nodeId, "", n.address, n.member.role, String(n.member.term), "", "", "", "", "", "", "", badge("unreachable", "down")]);
    const cap = s.blobs.capacityBytes ? " / " + bytes(s.blobs.capacityBytes) : "";
    return row([
      s.nodeId + (n.base ? "" : " (this)"), s.host, n.base ? n.address : location.hostname,
      badge(s.role, s.role === "server" ? "server" : ""), num(String(s.term)), s.version, s.os, num(duration(s.uptimeSeconds)),
      num(bytes(s.blobs.bytes) + cap), num(bytes(s.stats.internetBytes)), num(bytes(s.stats.lanBytesFetched)), num(bytes(s.stats.lanBytesServed)),
      s.updateRunning ? badge("updating") : badge("ok"),
    ], s.role === "server" ? "server" : "");
  }));

  const patches = state.patches || [];
  $("patches-count").textContent = state.patches ? String(patches.length) : "–";
  $("patches-detail").textContent = state.patches ? bytes(patches.reduce((a, p) => a + p.size, 0)) + " · " + patches.reduce((a, p) => a + p.hits, 0) + " LAN hits" : "server not reachable";
  $("db-source").textContent = "from " + (state.patchesFrom || "?");
  $("patches").querySelector("tbody").replaceChildren(...patches.slice(0, 200).map(p => row([p.os, p.name, num(bytes(p.size)), num(String(p.hits)), p.addedBy])));

  $("events").replaceChildren(...state.events.map(e => {
    const li = document.createElement("li");
    li.appendChild(text("span", new Date(e.at).toLocaleTimeString(), "t"));
    li.appendChild(text("span", e.kind, "badge k"));
    li.appendChild(text("span", e.message));
    return li;
  }));
  if (state.events.length === 0) $("events").appendChild(text("li", "no events yet", "small"));
  drawChart();
}

function drawChart() {
  const svg = $("chart-svg");
  const h = state.history;
  const W = 900, H = 220, pad = 28;
  svg.replaceChildren();
  if (!h || h.length < 2) { $("chart-note").textContent = "(collecting samples: one every 10 s)"; return; }
  const t0 = h[0].at, t1 = h[h.length - 1].at;
  const base = { i: h[0].internetBytes, l: h[0].lanBytesFetched };
  const pts = h.map(s => ({ t: s.at, i: s.internetBytes - base.i, l: s.lanBytesFetched - base.l }));
  const max = Math.max(1, ...pts.map(p => Math.max(p.i, p.l)));
  const x = t => pad + ((W - 2 * pad) * (t - t0)) / Math.max(1, t1 - t0);
  const y = v => H - pad - ((H - 2 * pad) * v) / max;
  const ns = "http://www.w3.org/2000/svg";
  const add = (name, attrs) => { const e = document.createElementNS(ns, name); for (const k in attrs) e.setAttribute(k, attrs[k]); svg.appendChild(e); return e; };
  add("line", { x1: pad, y1: H - pad, x2: W - pad, y2: H - pad, stroke: "#c8ced6" });
  for (const [key, color] of [["i", "#d9534f"], ["l", "#2f8f5b"]]) {
    const line = pts.map(p => x(p.t).toFixed(1) + "," + y(p[key]).toFixed(1)).join(" ");
    add("polygon", { points: x(t0) + "," + (H - pad) + " " + line + " " + x(t1) + "," + (H - pad), fill: color, "fill-opacity": "0.12" });
    add("polyline", { points: line, fill: "none", stroke: color, "stroke-width": "2" });
  }
  const label = (s, xx, yy, anchor) => { const t = add("text", { x: xx, y: yy, "font-size": "11", fill: "#667085", "text-anchor": anchor || "start" }); t.textContent = s; };
  label(bytes(max), pad, pad - 8);
  label(new Date(t0 * 1000).toLocaleTimeString(), pad, H - 8);
  label(new Date(t1 * 1000).toLocaleTimeString(), W - pad, H - 8, "end");
  const last = pts[pts.length - 1];
  const moved = last.i + last.l;
  $("chart-note").textContent = moved ? "· in this window " + Math.round((100 * last.l) / moved) + " % came from the LAN" : "";
}

refresh(true);
let tick = 0;
setInterval(() => refresh(++tick % 5 === 0), 3000);
