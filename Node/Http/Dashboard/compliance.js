// PeerPatch compliance page: finds the LAN server through this node's /v1/lan, reads its /v1/compliance and draws
// coverage per patch, failures with their error text and a drill-down per node. Every text from the network
// (hostnames, errors, patch names) goes in through textContent, never as HTML.
"use strict";

const $ = id => document.getElementById(id);
// "#node=ID" opens that node's drill-down (a link to one PC).
const state = { view: null, selected: location.hash.startsWith("#node=") ? decodeURIComponent(location.hash.slice(6)) : null, error: null };

function text(tag, content, cls) {
  const e = document.createElement(tag);
  e.textContent = content == null ? "" : String(content);
  if (cls) e.className = cls;
  return e;
}
function row(cells, cls) {
  const tr = document.createElement("tr");
  if (cls) tr.className = cls;
  for (const c of cells) tr.appendChild(c instanceof Node ? c : text("td", c));
  return tr;
}
function num(v, cls) { return text("td", v, "num" + (cls ? " " + cls : "")); }
function badge(label, cls) { const td = document.createElement("td"); td.appendChild(text("span", label, "badge " + (cls || ""))); return td; }
function fill(id, rows) { const body = $(id).querySelector("tbody"); body.replaceChildren(...rows); }
async function getJson(url) {
  const r = await fetch(url, { cache: "no-store" });
  if (!r.ok) throw new Error(url + ": " + r.status);
  return r.json();
}
function httpBase(address, port) { return "http://" + (address.includes(":") ? "[" + address + "]" : address) + ":" + port; }

async function serverBase() {
  const lan = await getJson("/v1/lan");
  if (lan.self && lan.self.role === "server") return "";
  const servers = lan.nodes.filter(n => n.status && n.status.role === "server").sort((a, b) => b.status.term - a.status.term);
  if (!servers.length) throw new Error("no LAN server answers");
  return httpBase(servers[0].member.address, servers[0].member.httpPort);
}

function hostOf(view, id) { const n = view.nodes.find(x => x.nodeId === id); return n ? n.hostname : id; }

function draw() {
  const v = state.view;
  $("meta").textContent = state.error ? "error: " + state.error : (v ? "as of " + new Date(v.generatedAt).toLocaleTimeString() : "loading…");
  if (!v) return;
  const fresh = v.nodes.filter(n => !n.stale);
  const compliant = fresh.filter(n => n.lacks.length === 0 && n.failed.length === 0 && n.held.length === 0);
  $("compliant").textContent = compliant.length + " / " + v.nodes.length;
  $("compliant-detail").textContent = (v.nodes.length - fresh.length) + " stale not counted";
  const failures = [];
  for (const p of v.patches) for (const f of p.failed) failures.push({ p, f });
  $("failures-count").textContent = failures.length;
  const stale = v.nodes.filter(n => n.stale);
  $("stale-count").textContent = stale.length;
  $("stale-detail").textContent = stale.map(n => n.hostname).join(", ");

  fill("coverage", v.patches.map(p => {
    const total = p.have.length + p.lack.length + p.failed.length + p.held.length + p.stale.length;
    const pct = total ? Math.round(100 * p.have.length / total) : 0;
    const bar = document.createElement("td");
    const meter = text("span", pct + " %", "badge " + (pct === 100 ? "ok" : p.failed.length ? "bad" : "warn"));
    bar.appendChild(meter);
    return row([p.os, p.patch, bar, num(p.have.length), num(p.lack.length), num(p.failed.length, p.failed.length ? "bad" : ""), num(p.held.length), num(p.stale.length)], "patch");
  }));

  fill("failures", failures.map(({ p, f }) => row([f.node, hostOf(v, f.node), p.os, p.patch, text("td", f.text, "error")], "failure")));

  fill("nodes", v.nodes.map(n => {
    const tr = row([n.nodeId, n.hostname, n.ring || "–", n.os, num(n.applied), num(n.lacks.length), num(n.failed.length), num(n.held.length),
      n.stale ? badge("stale", "warn") : (n.failed.length ? badge("failed", "bad") : (n.lacks.length || n.held.length ? badge("pending", "warn") : badge("compliant", "ok")))], "node");
    tr.dataset.node = n.nodeId;
    tr.tabIndex = 0;
    tr.addEventListener("click", () => { state.selected = n.nodeId; history.replaceState(null, "", "#node=" + encodeURIComponent(n.nodeId)); draw(); });
    return tr;
  }));

  const sel = v.nodes.find(n => n.nodeId === state.selected);
  $("drill-title").textContent = sel ? sel.hostname + " (" + sel.nodeId + ")" + (sel.stale ? " · stale" : "") : "(choose a node)";
  const rows = [];
  if (sel) {
    for (const name of sel.lacks) rows.push(row([name, "pending", ""]));
    for (const f of sel.failed) rows.push(row([f.node, "failed", text("td", f.text, "error")]));
    for (const h of sel.held) rows.push(row([h.node, "held", h.text]));
    rows.push(row([sel.applied + " applied", "", ""]));
  }
  fill("drill", rows);
}

async function refresh() {
  try {
    const base = await serverBase();
    state.view = await getJson(base + "/v1/compliance");
    state.error = null;
  } catch (e) {
    state.error = e.message;
  }
  draw();
  document.body.dataset.loaded = "1";
}

refresh();
setInterval(refresh, 5000);
