// Tether web UI: lists applications and drives the JSON API under
// /api/v1/apps. Every piece of data goes into the page as text
// (textContent / text nodes), never as HTML.
'use strict';

const API = '/api/v1/apps';
const REFRESH_MS = 2000;

let selected = null;      // {ns, name} of the open application
let rollbackKey = null;   // options currently in the rollback <select>
let diffKey = null;       // stateKey of the open app when its diff was last asked for
let diffSeq = 0;          // only the latest diff request may fill the panel
let token = sessionStorage.getItem('tether-token') || '';
let needToken = false;    // the server answered 401: wait for a token before polling on

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

// short abbreviates a revision as v1alpha1.ShortRevision does: commit SHAs
// and digests to 7 hex digits ("6.5.4@sha256:1a2b3c4, values@9f8e7d6").
function short(rev) {
  if (!rev) return '';
  return String(rev).split(',').map(function (p) {
    var i = p.indexOf('sha256:');
    if (i >= 0) return p.slice(0, i + 7) + p.slice(i + 7, i + 14);
    var at = p.indexOf('@');
    if (at >= 0) return p.slice(0, at + 1) + p.slice(at + 1, at + 8);
    return /^[0-9a-f]{7,}$/.test(p) ? p.slice(0, 7) : p;
  }).join(', ');
}

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

// request calls the API with the token, if any. A 401 opens the token
// form (every route needs the token when the agent has one) and fails.
async function request(path, opts) {
  const headers = {Accept: 'application/json'};
  if (opts && opts.body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = 'Bearer ' + token;
  const r = await fetch(path, {method: (opts && opts.method) || 'GET', headers,
    body: opts && opts.body !== undefined ? JSON.stringify(opts.body) : undefined});
  const out = await r.json().catch(() => ({}));
  if (r.status === 401) {
    askToken(token ? 'The API token was not accepted: enter it again.' : 'This agent needs its API token.');
    throw new Error('an API token is required: enter it above');
  }
  if (!r.ok) throw new Error(out.error || r.status + ' ' + r.statusText);
  return out;
}

function getJSON(path) { return request(path); }

function post(path, body) { return request(path, {method: 'POST', body: body || {}}); }

// ---- API token ----

function askToken(why) {
  needToken = true;
  $('auth-msg').textContent = why;
  if ($('auth').hidden) {
    $('auth').hidden = false;
    $('auth-token').focus();
  }
}

function useToken(ev) {
  ev.preventDefault();
  const t = $('auth-token').value.trim();
  if (!t) return;
  token = t;
  sessionStorage.setItem('tether-token', token);
  $('auth-token').value = '';
  $('auth').hidden = true;
  needToken = false;
  refresh();
  loadDiff();
}

// ---- failures ----

// failure says why the app's last sync failed, or null: the Ready
// condition False with a reason ending in "Failed" (ApplyFailed,
// RenderFailed …), or the newest history entry Failed.
function failure(app) {
  const st = app.status || {};
  const ready = (st.conditions || []).find((c) => c.type === 'Ready');
  if (ready && ready.status === 'False' && /Failed$/.test(ready.reason || '')) {
    return ready.message || ready.reason;
  }
  const h = (st.history || [])[0];
  if (h && h.result === 'Failed') return h.message || 'the last sync failed';
  return null;
}

// stateKey changes whenever what the diff compares may have changed: the
// applied revision, the sync state, the newest history entry, the spec.
function stateKey(app) {
  const st = app.status || {}, spec = app.spec || {}, sync = st.sync || {};
  const h = (st.history || [])[0] || {};
  return JSON.stringify([(st.lastAppliedRevision || {}).revision, sync.status, sync.revision, sync.message,
    h.id, h.result, h.finishedAt, h.attempts, spec.suspend, (spec.pin || {}).revision, app.metadata.generation]);
}

function syncCell(st, fail) {
  const sync = st.sync || {};
  return [fail ? badge('Sync failed', 'Failed') : '', badge(sync.status),
    sync.message ? el('span', {class: 'sync-msg', title: sync.message}, sync.message) : ''];
}

// ---- application list ----

function appRow(a) {
  const ns = a.metadata.namespace, name = a.metadata.name, fail = failure(a);
  const st = a.status || {}, spec = a.spec || {};
  const rev = st.lastAppliedRevision || {};
  const hist = st.history || [];
  const tr = el('tr', {},
    el('td', {}, el('span', {class: 'name'}, name), ' ', el('span', {class: 'ns'}, ns),
      spec.pin ? ' ' : '', spec.pin ? badge('pinned ' + short(spec.pin.revision), 'pin') : '',
      spec.suspend ? ' ' : '', spec.suspend ? badge('suspended', 'susp') : ''),
    el('td', {}, rev.revision ? el('span', {class: 'sha', title: rev.revision}, short(rev.revision)) : el('span', {class: 'muted'}, 'never synced'),
      rev.subject ? el('span', {class: 'subject'}, rev.subject) : ''),
    el('td', {}, ...syncCell(st, fail),
      fail ? el('div', {class: 'fail-msg', title: fail}, fail) : ''),
    el('td', {title: (st.health || {}).message || ''}, badge((st.health || {}).status)),
    timeCell(hist.length ? hist[0].finishedAt : ''));
  const cls = [];
  if (fail) cls.push('failed');
  if (selected && selected.ns === ns && selected.name === name) cls.push('selected');
  tr.className = cls.join(' ');
  tr.addEventListener('click', () => select(ns, name));
  return tr;
}

// loadApps lists the apps, the failed ones first, under a banner that
// counts them.
async function loadApps() {
  const apps = await getJSON(API);
  const failed = apps.filter((a) => failure(a));
  const rest = apps.filter((a) => !failure(a));
  $('apps').tBodies[0].replaceChildren(...failed.concat(rest).map(appRow));
  $('empty').hidden = apps.length > 0;
  const banner = $('failures');
  banner.hidden = failed.length === 0;
  banner.replaceChildren(
    el('strong', {}, failed.length === 1 ? '1 application failed to sync' : failed.length + ' applications failed to sync'),
    el('ul', {}, ...failed.map((a) => {
      const li = el('li', {}, el('span', {class: 'name'}, a.metadata.namespace + '/' + a.metadata.name), ': ', failure(a));
      li.addEventListener('click', () => select(a.metadata.namespace, a.metadata.name));
      return li;
    })));
}

// ---- one application ----

function select(ns, name) {
  selected = {ns, name};
  rollbackKey = null;
  diffKey = null;
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
    ['Chart', src.chart ? src.chart + ' ' + (src.targetRevision || '(newest)') : ''],
    ['Revision', src.chart ? '' : (src.targetRevision || 'HEAD') + (src.path ? '  ·  path ' + src.path : '')],
    ['Values from', (s.refSources || []).map((r) => '$' + r.ref + ' = ' + r.repoURL + ' ' + (r.targetRevision || 'HEAD')).join('; ')],
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
  const fail = failure(app);
  $('d-failure').hidden = !fail;
  const last = (st.history || [])[0];
  $('d-failure').replaceChildren(el('strong', {}, 'Last sync failed'),
    last && last.result === 'Failed' ? el('span', {class: 'muted'}, ' revision ' + short(last.revision) +
      (last.attempts > 1 ? ', ' + last.attempts + ' attempts' : '') + (last.finishedAt ? ', ' + ago(last.finishedAt) : '')) : '',
    el('div', {class: 'fail-text'}, fail || ''));
  $('d-badges').replaceChildren(...syncCell(st, fail), badge((st.health || {}).status),
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

// loadDetail shows the open app and asks for a new diff when its state
// moved on (a sync finished, the revision or sync status changed).
async function loadDetail() {
  const sel = selected;
  const d = await getJSON(appPath(sel.ns, sel.name));
  if (selected !== sel) return;
  renderDetail(d);
  const key = stateKey(d.app);
  if (diffKey !== null && key !== diffKey) loadDiff();
  diffKey = key;
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

// loadDiff asks for the open app's diff. The old one stays (marked as
// being recomputed) until the new one arrives; a later request wins.
async function loadDiff() {
  const sel = selected;
  if (!sel) return;
  const mine = ++diffSeq;
  $('diff-summary').textContent = 'Computing diff…';
  $('diff').classList.add('stale');
  try {
    const p = await getJSON(appPath(sel.ns, sel.name) + '/diff');
    if (selected !== sel || mine !== diffSeq) return;
    $('diff').classList.remove('stale');
    $('diff-summary').textContent = p.inSync ? p.summary + ' The cluster matches Git.' : p.summary;
    $('diff').replaceChildren(...p.changes.filter((c) => c.diff).map((c) => el('div', {class: 'change'},
      el('div', {class: 'change-head'}, c.action + ' ' + idText(c.id) + (c.reason ? ' (' + c.reason + ')' : '')),
      diffBlock(c.diff))));
  } catch (e) {
    if (selected !== sel || mine !== diffSeq) return;
    $('diff').classList.remove('stale');
    $('diff').replaceChildren();
    $('diff-summary').textContent = 'Diff failed: ' + e.message;
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
  // The diff is asked for again now, and again by loadDetail when the
  // sync the action started is recorded.
  refresh();
  loadDiff();
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
  $('auth').addEventListener('submit', useToken);
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
    $('conn').textContent = needToken ? 'waiting for the API token' : 'cannot reach the agent: ' + e.message;
    $('conn').className = 'conn bad';
  }
  // Without a token there is nothing to poll for until one is given.
  if (mine === generation && !needToken) timer = setTimeout(refresh, REFRESH_MS);
}

// fromHash opens the app the address names (#/namespace/name), at load
// and when the address changes (a link, the back button).
function fromHash() {
  const m = /^#\/([^/]+)\/([^/]+)$/.exec(location.hash);
  if (!m) return;
  try {
    const ns = decodeURIComponent(m[1]), name = decodeURIComponent(m[2]);
    if (!selected || selected.ns !== ns || selected.name !== name) select(ns, name);
  } catch (e) {
    // a malformed hash opens nothing
  }
}

wire();
window.addEventListener('hashchange', fromHash);
fromHash();
if (!selected) refresh();
