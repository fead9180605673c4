// Tether web UI: lists applications and drives the JSON API under
// /api/v1/apps. Every piece of data goes into the page as text
// (textContent / text nodes), never as HTML.
'use strict';

const API = '/api/v1/apps';
const REFRESH_MS = 2000;

let selected = null;      // {ns, name} of the open application
let rollbackKey = null;   // options currently in the rollback <select>
let token = sessionStorage.getItem('tether-token') || '';

const $ = (id) => document.getElementById(id);

// el builds an element; children are nodes or strings (added as text).
function el(tag, props, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (k === 'class') e.className = v;
    else if (k === 'title') e.title = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) {
    if (c !== null && c !== undefined && c !== '') e.append(c);
  }
  return e;
}

function badge(text, cls) {
  const safe = String(cls || text || '').replace(/[^A-Za-z]/g, '');
  return el('span', {class: 'badge b-' + safe}, text || 'Unknown');
}

function short(sha) { return sha ? String(sha).slice(0, 7) : ''; }

function appPath(ns, name) {
  return API + '/' + encodeURIComponent(ns) + '/' + encodeURIComponent(name);
}

function ago(ts) {
  if (!ts) return '';
  const s = Math.round((Date.now() - new Date(ts).getTime()) / 1000);
  if (isNaN(s)) return '';
  if (s < 60) return Math.max(s, 0) + 's ago';
  if (s < 3600) return Math.floor(s / 60) + 'm ago';
  if (s < 86400) return Math.floor(s / 3600) + 'h ago';
  return Math.floor(s / 86400) + 'd ago';
}

function timeCell(ts) {
  return el('td', {title: ts ? new Date(ts).toLocaleString() : ''}, ago(ts));
}

async function getJSON(path) {
  const r = await fetch(path, {headers: {Accept: 'application/json'}});
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(body.error || r.status + ' ' + r.statusText);
  return body;
}

// post calls a mutating endpoint, asking once for the API token when the
// server wants one.
async function post(path, body) {
  for (let attempt = 0; attempt < 2; attempt++) {
    const headers = {'Content-Type': 'application/json', Accept: 'application/json'};
    if (token) headers.Authorization = 'Bearer ' + token;
    const r = await fetch(path, {method: 'POST', headers, body: JSON.stringify(body || {})});
    const out = await r.json().catch(() => ({}));
    if (r.status === 401 && attempt === 0) {
      const t = window.prompt('API token');
      if (!t) throw new Error('an API token is required');
      token = t.trim();
      sessionStorage.setItem('tether-token', token);
      continue;
    }
    if (!r.ok) throw new Error(out.error || r.status + ' ' + r.statusText);
    return out;
  }
  throw new Error('wrong API token');
}

// ---- application list ----

function appRow(a) {
  const ns = a.metadata.namespace, name = a.metadata.name;
  const st = a.status || {}, spec = a.spec || {};
  const rev = st.lastAppliedRevision || {};
  const hist = st.history || [];
  const tr = el('tr', {},
    el('td', {}, el('span', {class: 'name'}, name), ' ', el('span', {class: 'ns'}, ns),
      spec.pin ? ' ' : '', spec.pin ? badge('pinned ' + short(spec.pin.revision), 'pin') : '',
      spec.suspend ? ' ' : '', spec.suspend ? badge('suspended', 'susp') : ''),
    el('td', {}, rev.revision ? el('span', {class: 'sha', title: rev.revision}, short(rev.revision)) : el('span', {class: 'muted'}, 'never synced'),
      rev.subject ? el('span', {class: 'subject'}, rev.subject) : ''),
    el('td', {}, badge((st.sync || {}).status)),
    el('td', {title: (st.health || {}).message || ''}, badge((st.health || {}).status)),
    timeCell(hist.length ? hist[0].finishedAt : ''));
  if (selected && selected.ns === ns && selected.name === name) tr.className = 'selected';
  tr.addEventListener('click', () => select(ns, name));
  return tr;
}

async function loadApps() {
  const apps = await getJSON(API);
  $('apps').tBodies[0].replaceChildren(...apps.map(appRow));
  $('empty').hidden = apps.length > 0;
}

// ---- one application ----

function select(ns, name) {
  selected = {ns, name};
  rollbackKey = null;
  location.hash = '#/' + encodeURIComponent(ns) + '/' + encodeURIComponent(name);
  $('detail').hidden = false;
  notice('');
  refresh();
  loadDiff();
}

function closeDetail() {
  selected = null;
  $('detail').hidden = true;
  history.replaceState(null, '', location.pathname);
  refresh();
}

function meta(app) {
  const s = app.spec || {}, src = s.source || {}, pol = s.syncPolicy || {};
  const rows = [
    ['Repository', src.repoURL],
    ['Revision', (src.targetRevision || 'HEAD') + (src.path ? '  ·  path ' + src.path : '')],
    ['Destination', (s.destination || {}).namespace],
    ['Policy', [pol.automated && 'automated', pol.prune && 'prune', pol.selfHeal && 'self-heal'].filter(Boolean).join(', ') || 'manual'],
  ];
  if (s.pin) rows.push(['Pinned', s.pin.revision + (s.pin.reason ? ' — ' + s.pin.reason : '')]);
  const st = app.status || {};
  if (st.health && st.health.message) rows.push(['Health', st.health.message]);
  const out = [];
  for (const [k, v] of rows) if (v) out.push(el('dt', {}, k), el('dd', {}, v));
  return out;
}

function renderDetail(d) {
  const app = d.app, st = app.status || {}, spec = app.spec || {};
  $('d-title').textContent = app.metadata.namespace + '/' + app.metadata.name;
  $('d-badges').replaceChildren(badge((st.sync || {}).status), badge((st.health || {}).status),
    ...(spec.pin ? [badge('pinned ' + short(spec.pin.revision), 'pin')] : []),
    ...(spec.suspend ? [badge('suspended', 'susp')] : []));
  $('d-meta').replaceChildren(...meta(app));
  $('d-conditions').replaceChildren(...(st.conditions || []).filter((c) => c.status !== 'True' || c.type !== 'Ready')
    .map((c) => el('li', {}, c.type + ' ' + c.status + (c.reason ? ' (' + c.reason + ')' : '') + (c.message ? ': ' + c.message : ''))));
  $('b-suspend').disabled = !!spec.suspend;
  $('b-resume').disabled = !spec.suspend;
  $('b-follow').disabled = !spec.pin;

  $('res-error').hidden = !d.resourcesError;
  $('res-error').textContent = d.resourcesError || '';
  $('resources').tBodies[0].replaceChildren(...d.resources.map((r) => el('tr', {},
    el('td', {}, r.kind), el('td', {}, r.namespace || ''), el('td', {}, r.name),
    el('td', {}, badge(r.sync)), el('td', {}, badge(r.health)), el('td', {class: 'muted'}, r.message || ''))));

  const hist = st.history || [];
  $('history').tBodies[0].replaceChildren(...hist.map((h) => el('tr', {},
    el('td', {}, String(h.id)),
    el('td', {}, el('span', {class: 'sha', title: h.revision}, short(h.revision)), h.subject ? el('span', {class: 'subject'}, h.subject) : ''),
    el('td', {}, badge(h.result)),
    el('td', {class: 'muted'}, '+' + h.created + ' ~' + h.updated + ' -' + h.deleted),
    timeCell(h.finishedAt),
    el('td', {class: 'muted'}, h.initiator || ''),
    el('td', {class: 'muted'}, h.message || ''))));
  renderRollback(hist, (st.lastAppliedRevision || {}).revision);
}

// renderRollback fills the revision chooser with the earlier revisions that
// synced successfully, rebuilding it only when they change so a choice in
// progress survives the refresh.
function renderRollback(hist, current) {
  const seen = new Set(), opts = [];
  for (const h of hist) {
    if (h.result !== 'Succeeded' || !h.revision || h.revision === current || seen.has(h.revision)) continue;
    seen.add(h.revision);
    opts.push(h);
  }
  const key = opts.map((h) => h.revision).join(',');
  const sel = $('rb-rev');
  $('b-rollback').disabled = opts.length === 0;
  if (key === rollbackKey) return;
  rollbackKey = key;
  const keep = sel.value;
  sel.replaceChildren(...opts.map((h) => el('option', {value: h.revision},
    short(h.revision) + (h.subject ? ' ' + h.subject : '') + ' (#' + h.id + ')')));
  if (!opts.length) sel.append(el('option', {value: ''}, 'no earlier revision'));
  if (seen.has(keep)) sel.value = keep;
}

async function loadDetail() {
  const sel = selected;
  const d = await getJSON(appPath(sel.ns, sel.name));
  if (selected === sel) renderDetail(d);
}

function diffBlock(text) {
  const pre = el('pre');
  const lines = text.split('\n');
  while (lines.length && lines[lines.length - 1].trim() === '') lines.pop();
  for (const line of lines) {
    let cls = 'ctx';
    if (line.startsWith('@@')) cls = 'hunk';
    else if (line.startsWith('+') && !line.startsWith('+++')) cls = 'add';
    else if (line.startsWith('-') && !line.startsWith('---')) cls = 'del';
    pre.append(el('span', {class: cls}, line || ' '));
  }
  return pre;
}

async function loadDiff() {
  const sel = selected;
  if (!sel) return;
  $('diff-summary').textContent = 'Computing diff…';
  $('diff').replaceChildren();
  try {
    const p = await getJSON(appPath(sel.ns, sel.name) + '/diff');
    if (selected !== sel) return;
    $('diff-summary').textContent = p.inSync ? p.summary + ' The cluster matches Git.' : p.summary;
    $('diff').replaceChildren(...p.changes.filter((c) => c.diff).map((c) => el('div', {class: 'change'},
      el('div', {class: 'change-head'}, c.action + ' ' + idText(c.id) + (c.reason ? ' (' + c.reason + ')' : '')),
      diffBlock(c.diff))));
  } catch (e) {
    if (selected === sel) $('diff-summary').textContent = 'Diff failed: ' + e.message;
  }
}

function idText(id) {
  const kind = id.kind + (id.group ? '.' + id.group : '');
  return kind + '/' + (id.namespace ? id.namespace + '/' : '') + id.name;
}

// ---- actions ----

function notice(text, ok) {
  const n = $('notice');
  n.textContent = text;
  n.className = text ? (ok ? 'ok' : 'bad') : '';
}

async function act(label, path, body) {
  if (!selected) return;
  const sel = selected;
  try {
    await post(appPath(sel.ns, sel.name) + path, body);
    notice(label + ': done', true);
  } catch (e) {
    notice(label + ': ' + e.message, false);
  }
  refresh();
}

function wire() {
  $('b-sync').addEventListener('click', () => act('Sync requested', '/sync'));
  $('b-suspend').addEventListener('click', () => act('Suspend', '/suspend'));
  $('b-resume').addEventListener('click', () => act('Resume', '/resume'));
  $('b-follow').addEventListener('click', () => act('Resume following branch', '/rollback', {resume: true}));
  $('b-rollback').addEventListener('click', () => {
    const rev = $('rb-rev').value;
    if (rev && window.confirm('Pin ' + selected.name + ' to ' + short(rev) + '? It stops following its branch until resumed.')) {
      act('Rollback to ' + short(rev), '/rollback', {revision: rev});
    }
  });
  $('b-diff').addEventListener('click', loadDiff);
  $('d-close').addEventListener('click', closeDetail);
}

// ---- refresh loop ----

let timer = null;
let generation = 0; // only the latest refresh schedules the next one

async function refresh() {
  const mine = ++generation;
  clearTimeout(timer);
  try {
    await loadApps();
    if (selected) await loadDetail();
    $('conn').textContent = 'updated ' + new Date().toLocaleTimeString();
    $('conn').className = 'conn';
  } catch (e) {
    $('conn').textContent = 'cannot reach the agent: ' + e.message;
    $('conn').className = 'conn bad';
  }
  if (mine === generation) timer = setTimeout(refresh, REFRESH_MS);
}

function fromHash() {
  const m = /^#\/([^/]+)\/([^/]+)$/.exec(location.hash);
  if (!m) return;
  try {
    select(decodeURIComponent(m[1]), decodeURIComponent(m[2]));
  } catch (e) {
    // a malformed hash opens nothing
  }
}

wire();
fromHash();
if (!selected) refresh();
