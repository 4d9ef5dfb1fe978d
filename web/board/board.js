// newsd desk board: one lane per desk, live from /board/events (Server-Sent Events).
//
// Every text that comes from a story or an alert reaches the page as a text node (textContent,
// createTextNode), never as markup: a headline such as <img src=x onerror=alert(1)> shows as
// those characters. The server's Content-Security-Policy (default-src 'self') is the second wall.
"use strict";

const PRIORITIES = { FLASH: 2, URGENT: 1, ROUTINE: 0 };
const params = new URLSearchParams(location.search);

const state = {
  desks: new Map(),        // name -> title
  alerts: new Map(),       // alert id -> {alert, pos, received}
  stories: new Map(),      // story id -> summary (dateline, byline, quoted sentences, pubstatus)
  withdrawn: new Set(),    // story ids withdrawn or killed
  deskFilter: params.get("desk") || "",
  streamDesk: params.get("desk") || "", // the server sends only this desk's alerts
  query: "",
  lastEventId: "",
  dirty: false,
  openGroups: new Set(),   // developments whose earlier alerts the reader unfolded
};

// What the page received, for people (the status line) and for the browser test.
const stats = {
  events: 0, alerts: 0, repeated: 0, connects: 0, positions: new Set(),
  alertIds: () => [...state.alerts.keys()],
  deskOf: (id) => (state.alerts.get(id) || { alert: {} }).alert.desk,
};
window.__board = stats;

// --- DOM helpers: elements from tags, attributes and children; strings become text nodes -------

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

const $ = (id) => document.getElementById(id);

function timeOf(ms) {
  const d = new Date(ms);
  return isNaN(d) ? "" : d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

// Only web links leave the page: a javascript: or data: URL from a feed is shown as text.
function safeHref(url) {
  try {
    const u = new URL(url);
    return u.protocol === "https:" || u.protocol === "http:" ? u.href : null;
  } catch (e) {
    return null;
  }
}

// --- the data --------------------------------------------------------------------------------

function isWithdrawn(storyId) {
  if (state.withdrawn.has(storyId)) return true;
  const s = state.stories.get(storyId);
  return !!(s && s.pubstatus && s.pubstatus !== "usable");
}

function principalEvent(events) {
  let best = null, score = -1;
  for (const e of events || []) {
    const c = typeof e.confidence === "number" ? e.confidence : 0.5;
    const v = c * 100 + Math.abs(e.intensity || 0);
    if (v > score) { score = v; best = e; }
  }
  return best;
}

function evidenceOf(alert) {
  const story = state.stories.get(alert.story_id);
  const ev = principalEvent(alert.events);
  if (!story || !ev || !ev.sentence) return null;
  const s = (story.evidence || []).find((x) => x.start === ev.sentence.start);
  return s ? s.text : null;
}

// The alert's sentence, in two: what developed (without the desk's title, which the lane shows)
// and why the desk got it ("Matched on ..."), as the alert words them.
function sentenceOf(alert) {
  let why = alert.why || "";
  const prefix = (alert.desk_title || alert.desk) + ": ";
  if (why.startsWith(prefix)) why = why.slice(prefix.length);
  const cut = why.indexOf(" Matched on ");
  return cut < 0 ? { development: why, matched: null }
    : { development: why.slice(0, cut), matched: why.slice(cut + 1) };
}

// What matched, from the alert's fields, when its sentence does not say.
function matchedOf(alert) {
  const m = alert.matched || {};
  const out = [];
  for (const c of m.countries || []) out.push(c);
  for (const t of m.topics || []) out.push("topic " + t.replace(/^.*\/mediatopic\//, ""));
  for (const k of m.keywords || []) out.push("“" + k + "”");
  for (const f of m.feeds || []) out.push("feed " + f);
  for (const e of alert.entities || []) if (out.length < 8 && e.name) out.push(e.name);
  return out.length ? "Matched on " + out.join(" · ") : null;
}

function searchText(alert) {
  const s = state.stories.get(alert.story_id) || {};
  return [alert.headline, alert.why, alert.desk_title, alert.feed, s.located, s.byline,
          (alert.entities || []).map((e) => e.name).join(" "), evidenceOf(alert)]
    .filter(Boolean).join(" ").toLowerCase();
}

// Lanes: desk -> developments (newest update first), each with its alerts oldest first.
function lanes() {
  const byDesk = new Map();
  for (const name of state.desks.keys()) byDesk.set(name, new Map());
  for (const { alert } of state.alerts.values()) {
    if (!byDesk.has(alert.desk)) byDesk.set(alert.desk, new Map());
    const devs = byDesk.get(alert.desk);
    const dev = (alert.development && alert.development.id) || alert.id;
    if (!devs.has(dev)) devs.set(dev, []);
    devs.get(dev).push(alert);
  }
  const out = [];
  for (const [desk, devs] of byDesk) {
    const groups = [...devs.values()].map((list) => list.sort((a, b) => a.time_ms - b.time_ms));
    groups.sort((a, b) => b[b.length - 1].time_ms - a[a.length - 1].time_ms);
    out.push({ desk, groups });
  }
  return out;
}

// --- rendering -------------------------------------------------------------------------------

function badge(cls, text) {
  return el("span", { class: "badge " + cls }, text);
}

function card(group) {
  const latest = group[group.length - 1];
  const story = state.stories.get(latest.story_id) || {};
  const withdrawn = isWithdrawn(latest.story_id);
  const evidence = evidenceOf(latest);
  const sentence = sentenceOf(latest);
  const matched = sentence.matched || matchedOf(latest);
  const lowest = group.reduce((lo, a) => (PRIORITIES[a.priority] < PRIORITIES[lo] ? a.priority : lo),
    latest.priority);
  const meta = [story.located, latest.feed || story.feed, story.byline && "By " + story.byline]
    .filter(Boolean).join(" · ");

  const node = el("article", {
    class: `card prio-${latest.priority}` + (withdrawn ? " withdrawn" : ""),
    dataset: { alert: latest.id, story: latest.story_id, dev: (latest.development || {}).id || "" },
  },
    el("div", { class: "card-head" },
      badge("prio", latest.priority),
      latest.kind === "escalation" ? badge("esc", "▲ Escalation") : badge("new", "New"),
      withdrawn && badge("wd", "Withdrawn"),
      lowest !== latest.priority && badge("rise", `${lowest} → ${latest.priority}`),
      el("time", { datetime: latest.time }, timeOf(latest.time_ms))),
    el("p", { class: "sentence" }, sentence.development),
    el("h3", { class: "headline" },
      el("button", { type: "button", class: "open", onclick: () => openStory(latest) },
        latest.headline || "(no headline)")),
    meta && el("p", { class: "meta" }, meta),
    evidence && el("blockquote", { class: "evidence" }, evidence),
    latest.escalation && el("ul", { class: "escalation" },
      latest.escalation.map((e) => el("li", {}, e))),
    matched && el("p", { class: "matched" }, matched),
  );
  if (group.length > 1) {
    const dev = (latest.development || {}).id || latest.id;
    node.append(el("details", {
      class: "updates", open: state.openGroups.has(dev),
      ontoggle: (e) => (e.target.open ? state.openGroups.add(dev) : state.openGroups.delete(dev)),
    },
      el("summary", {}, `${group.length - 1} earlier ${group.length === 2 ? "alert" : "alerts"} in this development`),
      el("ol", {}, group.slice(0, -1).reverse().map((a) =>
        el("li", { class: (isWithdrawn(a.story_id) ? "withdrawn " : "") + "prio-" + a.priority },
          badge("prio", a.priority),
          el("time", { datetime: a.time }, timeOf(a.time_ms)), " ",
          el("button", { type: "button", class: "open", onclick: () => openStory(a) },
            a.headline || "(no headline)"),
          isWithdrawn(a.story_id) && badge("wd", "Withdrawn"),
          a.kind === "escalation" && el("span", { class: "why" }, " ▲ " + (a.escalation || []).join("; ")))))));
  }
  return node;
}

function render() {
  state.dirty = false;
  const root = $("lanes");
  const q = state.query;
  const frag = document.createDocumentFragment();
  let shown = 0;
  for (const { desk, groups } of lanes()) {
    const visible = groups.filter((g) => !q || g.some((a) => searchText(a).includes(q)));
    const hidden = !!state.deskFilter && state.deskFilter !== desk;
    if (!hidden) shown += visible.length;
    frag.append(el("section", { class: "lane", dataset: { desk }, hidden: hidden },
      el("h2", {}, state.desks.get(desk) || desk,
        el("span", { class: "n" }, String(visible.length))),
      visible.length ? visible.map(card)
        : el("p", { class: "none" }, q ? "No alert matches the search." : "No alerts yet.")));
  }
  root.replaceChildren(frag);
  $("count").textContent = `${shown} ${shown === 1 ? "development" : "developments"}`;
  $("empty").hidden = state.alerts.size > 0;
}

function schedule() {
  if (!state.dirty) {
    state.dirty = true;
    requestAnimationFrame(render);
  }
}

function addDesk(name, title) {
  if (!name) return;
  if (!state.desks.has(name) || (title && state.desks.get(name) === name)) state.desks.set(name, title || name);
  const sel = $("desk");
  if (![...sel.options].some((o) => o.value === name)) {
    sel.append(el("option", { value: name }, title || name));
    sel.value = state.deskFilter;
  }
}

// --- the story view --------------------------------------------------------------------------

// The text with its evidence marked: entity mentions, event sentences (the alert's own stronger),
// triggers. Offsets are code points into body_text.
function highlighted(text, record, alert) {
  const cps = Array.from(text || "");
  const spans = [];
  for (const e of record.entities || [])
    for (const m of e.mentions || [])
      if (!m.field) spans.push({ start: m.start, end: m.end, cls: "ent", title: `${e.name} (${e.type})` });
  const main = principalEvent(alert && alert.events);
  // an event under events.min_confidence is no statement the story makes: not marked in the text
  for (const ev of published(record.events)) {
    if (ev.sentence) {
      const own = main && main.sentence && main.sentence.start === ev.sentence.start;
      spans.push({ start: ev.sentence.start, end: ev.sentence.end, cls: own ? "ev own" : "ev", title: ev.type });
    }
    if (ev.trigger) spans.push({ start: ev.trigger.start, end: ev.trigger.end, cls: "trigger", title: `${ev.type} ${ev.cameo || ""}` });
  }
  const cuts = new Set([0, cps.length]);
  for (const s of spans) { cuts.add(Math.max(0, Math.min(s.start, cps.length))); cuts.add(Math.max(0, Math.min(s.end, cps.length))); }
  const points = [...cuts].sort((a, b) => a - b);
  const out = el("div", { class: "body" });
  for (let i = 0; i + 1 < points.length; i++) {
    const a = points[i], b = points[i + 1];
    let node = document.createTextNode(cps.slice(a, b).join(""));
    for (const s of spans.filter((x) => x.start <= a && x.end >= b))
      node = el(s.cls === "trigger" ? "strong" : "mark", { class: s.cls, title: s.title }, node);
    out.append(node);
  }
  return out;
}

// Events at or above events.min_confidence (what publish and the desks use), and the rest.
function published(events) { return (events || []).filter((e) => !e.below_threshold); }
function belowThreshold(events) { return (events || []).filter((e) => e.below_threshold); }

function eventRows(events, below) {
  return events.map((e) =>
    el("tr", below ? { class: "below", title: "below events.min_confidence: not published, no alert" } : {},
      el("td", {}, `${e.type} ${e.cameo || ""}`), el("td", {}, `${actors(e.source)} → ${actors(e.target)}`),
      el("td", {}, (e.trigger || {}).text || ""), el("td", {}, typeof e.intensity === "number" ? e.intensity.toFixed(1) : ""),
      el("td", {}, e.status || ""),
      el("td", {}, typeof e.confidence === "number" ? `${Math.round(e.confidence * 100)}%` : ""),
      el("td", {}, below ? "below threshold" : "")));
}

function actors(list) {
  return (list || []).map((a) => a.code || a.name || a.text).filter(Boolean).join("+") || "–";
}

function storyView(record, alert) {
  const withdrawn = isWithdrawn(record.id) || (record.pubstatus && record.pubstatus !== "usable");
  const href = safeHref((record.provenance || {}).url || alert.url || "");
  return [
    withdrawn && el("p", { class: "banner" }, `Withdrawn (${record.pubstatus || "canceled"}): do not use this story.`),
    el("h2", { id: "story-headline", class: withdrawn ? "struck" : "" }, record.headline || alert.headline || "(no headline)"),
    el("p", { class: "meta" }, [record.dateline || record.located, record.byline && "By " + record.byline,
      (record.provenance || {}).feed, record.versioncreated, `version ${record.version || 1}`]
      .filter(Boolean).join(" · ")),
    href && el("p", {}, el("a", { href, rel: "noopener noreferrer", target: "_blank" }, "Original story")),
    el("p", { class: "legend" }, el("mark", { class: "ev own" }, "alert's evidence"), " ",
      el("mark", { class: "ev" }, "event sentence"), " ", el("mark", { class: "ent" }, "entity"), " ",
      el("strong", { class: "trigger" }, "trigger")),
    highlighted(record.body_text, record, alert),
    el("h3", {}, "Entities"),
    el("table", {}, el("tbody", {}, (record.entities || []).map((e) =>
      el("tr", {}, el("td", {}, e.name), el("td", {}, e.type),
        el("td", {}, [e.role, e.country].filter(Boolean).join(", ")),
        el("td", {}, Object.values(e.ids || {}).join(" "))))))
    ,
    el("h3", {}, "Topics"),
    el("ul", { class: "topics" }, (record.subject || []).map((t) =>
      el("li", {}, t.name || t.uri, typeof t.confidence === "number" ? ` ${Math.round(t.confidence * 100)}%` : ""))),
    el("h3", {}, "Events"),
    el("table", { id: "story-events" }, el("tbody", {}, eventRows(published(record.events), false))),
    belowThreshold(record.events).length > 0 && el("details", { class: "below-events" },
      el("summary", {}, `${belowThreshold(record.events).length} below the confidence threshold (not published, no alert)`),
      el("table", {}, el("tbody", {}, eventRows(belowThreshold(record.events), true)))),
  ];
}

async function openStory(alert) {
  const dialog = $("story");
  const body = $("story-body");
  body.replaceChildren(el("p", {}, "Loading…"));
  if (!dialog.open) dialog.showModal();
  try {
    const resp = await fetch(`/board/story/${encodeURIComponent(alert.story_id)}`, { credentials: "same-origin" });
    if (!resp.ok) throw new Error(resp.status === 404 ? "no longer kept" : `HTTP ${resp.status}`);
    body.replaceChildren(...storyView(await resp.json(), alert).filter(Boolean));
  } catch (e) {
    body.replaceChildren(el("h2", { id: "story-headline" }, alert.headline || ""),
      el("p", { class: "meta" }, `The enriched record is not available (${e.message}).`),
      el("p", {}, sentenceOf(alert).development));
  }
}

// --- the stream ------------------------------------------------------------------------------

function onAlert(ev) {
  const data = JSON.parse(ev.data);
  const alert = data.alert;
  stats.events++;
  if (ev.lastEventId) state.lastEventId = ev.lastEventId;
  if (stats.positions.has(data.pos)) stats.repeated++;
  stats.positions.add(data.pos);
  if (!alert || !alert.id) return;
  if (data.story) state.stories.set(data.story.id, data.story);
  if (!state.alerts.has(alert.id)) stats.alerts++;
  state.alerts.set(alert.id, { alert, pos: data.pos });
  addDesk(alert.desk, alert.desk_title);
  schedule();
}

function onStory(ev) {
  const s = JSON.parse(ev.data);
  stats.events++;
  if (!s || !s.id) return;
  state.stories.set(s.id, s);
  if (s.pubstatus && s.pubstatus !== "usable") state.withdrawn.add(s.id);
  schedule();
}

function onHello(ev) {
  const h = JSON.parse(ev.data);
  for (const d of h.desks || []) addDesk(d.name, d.title);
  schedule();
}

function onReady(ev) {
  const r = JSON.parse(ev.data);
  if (ev.lastEventId) state.lastEventId = ev.lastEventId;
  for (const id of r.withdrawn || []) state.withdrawn.add(id);
  setStatus("live", "live");
  schedule();
}

function setStatus(text, cls) {
  const s = $("status");
  s.textContent = text;
  s.className = "status " + (cls || "");
}

let source = null;

function connect() {
  const q = new URLSearchParams();
  if (state.streamDesk) q.set("desk", state.streamDesk);
  // a new EventSource sends no Last-Event-ID of its own: the position goes in the query
  if (state.lastEventId) q.set("last", state.lastEventId);
  const qs = q.toString();
  source = new EventSource("/board/events" + (qs ? "?" + qs : ""));
  stats.connects++;
  source.addEventListener("hello", onHello);
  source.addEventListener("alert", onAlert);
  source.addEventListener("story", onStory);
  source.addEventListener("ready", onReady);
  source.addEventListener("error", () => {
    setStatus("reconnecting…", "down");
    // the browser retries by itself (with Last-Event-ID) unless the server refused the stream
    if (source.readyState === EventSource.CLOSED) {
      source.close();
      setTimeout(connect, 3000);
    }
  });
}

function init() {
  $("desk").value = state.deskFilter;
  $("desk").addEventListener("change", (e) => {
    const url = new URL(location.href);
    if (e.target.value) url.searchParams.set("desk", e.target.value);
    else url.searchParams.delete("desk");
    if (state.streamDesk) {
      // this page's stream carries one desk only: open the page for the other
      location.href = url.href;
      return;
    }
    state.deskFilter = e.target.value;
    history.replaceState(null, "", url);
    schedule();
  });
  $("search").addEventListener("input", (e) => {
    state.query = e.target.value.trim().toLowerCase();
    schedule();
  });
  $("story-close").addEventListener("click", () => $("story").close());
  if (state.deskFilter) addDesk(state.deskFilter, state.deskFilter);
  render();
  connect();
}

document.addEventListener("DOMContentLoaded", init);
