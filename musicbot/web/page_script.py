"""The dashboard page's script (``page.py`` puts it in the page under the response's CSP nonce).

What it keeps in mind: the player it shows (``state``; a pushed update older than the answer to
the user's own request is ignored, by ``as_of``), what the user may do (``rights``, asked again
when the listeners or the track change), and the filter catalogue the page was rendered with.
A refusal stays on screen until the user's next action, so it cannot be wiped by a background
request before it is read.
"""

SCRIPT = r"""
"use strict";
const $ = (id) => document.getElementById(id);
const SPEC = JSON.parse($("filter-spec").textContent);
let guild = new URLSearchParams(location.search).get("guild"), csrf = "", socket = null;
let state = null, rights = null, rightsKey = "", historyKey = "", queueKey = "", dragging = false;

async function api(path, options = {}) {
  const headers = {"Content-Type": "application/json"};
  if (options.method && options.method !== "GET") headers["X-CSRF-Token"] = csrf;
  const response = await fetch(path, {credentials: "same-origin", ...options, headers});
  const body = await response.json().catch(() => ({}));
  if (response.status === 401) { location.href = "/auth/login"; throw new Error("login"); }
  if (!response.ok) { say(body.error || `Error ${response.status}`); throw new Error(body.error); }
  return body;
}
function say(text, done = false) { $("message").textContent = text; $("message").className = done ? "done" : ""; }
function clock(s) { s = Math.max(0, Math.floor(s)); return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`; }
function item(text, buttonText, label, onclick) {
  const li = document.createElement("li");
  const name = document.createElement("span"); name.textContent = text;
  li.append(name);
  if (buttonText) {
    const button = document.createElement("button"); button.textContent = buttonText;
    button.setAttribute("aria-label", label); button.onclick = onclick;
    li.append(button);
  }
  return li;
}
// A user's action: the last refusal is cleared first, and a new one stays until the next action.
function act(action, body) {
  say("");
  return api(`/api/v1/guilds/${guild}/player/${action}`,
    {method: "POST", body: body === undefined ? undefined : JSON.stringify(body)}).then(show).catch(() => {});
}

function show(player) {
  if (state && player.as_of < state.as_of) return;  // an update older than what is shown
  state = player;
  const current = player.current;
  $("title").textContent = current ? current.title : "Nothing is playing";
  $("artist").textContent = !current ? "" : current.artist +
    (current.requester_name ? ` · asked by ${current.requester_name}` : "");
  $("art").hidden = !(current && current.artwork_url);
  if (current && current.artwork_url) $("art").src = current.artwork_url;
  const heard = current ? (player.length_s ?? current.duration_s) : null;  // SponsorBlock's skips not counted
  $("progress").max = heard ? heard : 1;
  $("progress").value = player.position_s;
  const length = heard ? clock(heard) : "live";
  $("time").textContent = current ? `${clock(player.position_s)} / ${length}` : "";
  $("skipped").textContent = player.skipped ? `Skipped ${player.skipped} (SponsorBlock)` : "";
  $("lyric").textContent = player.lyric_line ? "🎤 " + player.lyric_line : "";
  $("pause").textContent = player.paused ? "Resume" : "Pause";
  if (document.activeElement !== $("volume")) $("volume").value = player.volume;
  $("volume-out").textContent = `${player.volume} %`;
  $("loop").value = player.loop;
  const names = player.listeners.map((l) => l.name).join(", ");
  $("listeners").textContent = names ? "Listening: " + names : "";
  $("qlen").textContent = player.queue_length ? `(${player.queue_length})` : "";
  showQueue(player.queue);
  showFilters(player.filters);
  const key = JSON.stringify([player.connected, player.listeners, current && current.requester_id]);
  if (key !== rightsKey) { rightsKey = key; loadRights(); }
  const played = String(current && current.entry_id);
  if (played !== historyKey) { historyKey = played; loadHistory(); }
}

// The queue is rebuilt only when its entries changed, and never during a drag: an element replaced
// while it is dragged never gets its dragend, and the browser's drag session then swallows the
// user's next clicks (the position pushed every few seconds would otherwise rebuild it each time).
function showQueue(queue) {
  const key = JSON.stringify(queue.map((entry) => [entry.entry_id, entry.title, entry.requester_name]));
  if (dragging || key === queueKey) return;
  queueKey = key;
  $("queue").replaceChildren(...queue.map(queueItem));
}
function queueItem(entry, i) {
  const asked = entry.requester_name ? ` (asked by ${entry.requester_name})` : "";  // from outside Discord
  const title = `${i + 1}. ${entry.title}${entry.artist ? " — " + entry.artist : ""}${asked}`;
  const li = item(title, "Remove", `Remove ${entry.title}`, () => act("remove", {position: i + 1}));
  li.draggable = true; li.tabIndex = 0;
  li.querySelector("button").disabled = Boolean(rights && !rights.control.allowed);
  li.ondragstart = (e) => { dragging = true; e.dataTransfer.setData("text/plain", String(i + 1)); };
  li.ondragend = () => { dragging = false; if (state) showQueue(state.queue); };
  li.ondragover = (e) => { e.preventDefault(); li.classList.add("over"); };
  li.ondragleave = () => li.classList.remove("over");
  li.ondrop = (e) => { e.preventDefault(); li.classList.remove("over");
    act("move", {from: Number(e.dataTransfer.getData("text/plain")), to: i + 1}); };
  li.onkeydown = (e) => {  // the keyboard's drag: Alt+↑ / Alt+↓
    const to = e.key === "ArrowUp" ? i : e.key === "ArrowDown" ? i + 2 : 0;
    if (e.altKey && to >= 1 && to <= state.queue.length) { e.preventDefault(); act("move", {from: i + 1, to}); }
  };
  return li;
}

// ------------------------------------------------------------------ what the user may do
async function loadRights() {
  rights = await api(`/api/v1/guilds/${guild}/rights`).catch(() => null);
  if (!rights) return;
  const note = $("rights");
  note.className = rights.control.allowed ? "" : "no";
  note.textContent = rights.control.allowed
    ? `You can control the music${rights.dj ? " (DJ)" : ""}.`
    : `You can't control the music now: ${rights.control.why_not}`;
  if (!rights.add.allowed && rights.control.allowed) note.textContent += ` To add music: ${rights.add.why_not}`;
  $("controls").disabled = !rights.control.allowed;
  $("filter-panel").disabled = !rights.control.allowed;
  $("queue").querySelectorAll("button").forEach((b) => { b.disabled = !rights.control.allowed; });
  $("skip").disabled = !rights.skip.allowed;
  $("skip").title = rights.skip.allowed ? "" : rights.skip.why_not;
  for (const block of SPEC.blocks) {
    const forbidden = rights.forbidden_filters.includes(block.key);
    $(`on-${block.key}`).disabled = forbidden;
    $(`note-${block.key}`).textContent = forbidden ? " (not allowed on this server)" : "";
  }
}

// ------------------------------------------------------------------ filters
const words = (key) => key.replace(/([A-Z])/g, " $1").toLowerCase();
const shown = (field, value) => `${Number(value.toFixed(3))}${field.unit ? " " + field.unit : ""}`;
function slider(id, field, label, onchange) {
  const row = document.createElement("label"); row.className = "field";
  const name = document.createElement("span");
  name.textContent = `${label} (${field.min}–${field.max}${field.unit ? " " + field.unit : ""})`;
  const input = Object.assign(document.createElement("input"),
    {type: "range", id, min: field.min, max: field.max, step: field.step, value: field.default});
  const out = document.createElement("output"); out.id = `${id}-out`; out.textContent = shown(field, field.default);
  input.oninput = () => { out.textContent = shown(field, Number(input.value)); };
  input.onchange = onchange;
  row.append(name, input, out);
  return row;
}
function buildFilters() {
  const box = $("filters");
  box.append(slider("f-volume", SPEC.volume, "filter volume", applyFilters));
  for (const block of SPEC.blocks) {
    const details = document.createElement("details");
    const summary = document.createElement("summary");
    const note = document.createElement("span"); note.id = `note-${block.key}`; note.className = "muted";
    summary.append(words(block.key), note);
    const on = Object.assign(document.createElement("input"), {type: "checkbox", id: `on-${block.key}`});
    on.onchange = applyFilters;
    const onLabel = document.createElement("label"); onLabel.append(on, " on");
    details.append(summary, onLabel);
    for (const field of block.fields) {
      details.append(slider(`f-${block.key}-${field.key}`, field, words(field.key), () => {
        on.checked = true;  // moving a slider turns its filter on
        applyFilters();
      }));
    }
    box.append(details);
  }
  for (let band = 0; band < 15; band++) {
    const input = Object.assign(document.createElement("input"),
      {type: "range", min: -0.25, max: 1, step: 0.05, value: 0});
    input.setAttribute("aria-label", `Equalizer band ${band + 1}`);
    input.onchange = applyFilters;
    $("eq").append(input);
  }
}
function filtersOnPage() {
  const out = {};
  const volume = Number($("f-volume").value);
  if (volume !== 1) out.volume = volume;
  const equalizer = [...document.querySelectorAll("#eq input")].map((s, i) => ({band: i, gain: Number(s.value)}))
    .filter((b) => b.gain !== 0);
  if (equalizer.length) out.equalizer = equalizer;
  for (const block of SPEC.blocks) {
    if (!$(`on-${block.key}`).checked) continue;
    out[block.key] = Object.fromEntries(block.fields.map((f) => [f.key, Number($(`f-${block.key}-${f.key}`).value)]));
  }
  return out;
}
const applyFilters = () => act("filters", filtersOnPage());
function setSlider(input, field, value) {
  if (document.activeElement === input) return;  // the user is moving it
  input.value = value;
  $(`${input.id}-out`).textContent = shown(field, value);
}
function showFilters(filters) {
  setSlider($("f-volume"), SPEC.volume, filters.volume ?? 1);
  for (const block of SPEC.blocks) {
    const values = filters[block.key];
    $(`on-${block.key}`).checked = Boolean(values);
    for (const field of block.fields) {
      setSlider($(`f-${block.key}-${field.key}`), field, values ? values[field.key] : field.default);
    }
  }
  const bands = (filters.equalizer || []).reduce((all, b) => ({...all, [b.band]: b.gain}), {});
  document.querySelectorAll("#eq input").forEach((input, band) => {
    if (document.activeElement !== input) input.value = bands[band] || 0;
  });
}

// ------------------------------------------------------------------ history, playlists, search
async function loadHistory() {
  const played = await api(`/api/v1/guilds/${guild}/history`).catch(() => []);
  $("history").replaceChildren(...played.slice(0, 20).map((p) => item(
    `${p.title}${p.artist ? " — " + p.artist : ""} · ${new Date(p.started_at).toLocaleTimeString()}`,
    "Add", `Add ${p.title} again`, () => add(p.url))));
}
function playlistItem(p) {
  const shared = p.whose === "shared" ? ", shared by a member" : "";
  return item(`${p.name} (${p.track_count} track${p.track_count === 1 ? "" : "s"}, ${clock(p.duration_s)}${shared})`,
    "Load", `Load ${p.name}`, () => load(p.load_as, p.name));
}
async function loadPlaylists() {
  const [lists, servers] = await Promise.all([api("/api/v1/playlists").catch(() => []),
    api(`/api/v1/guilds/${guild}/playlists`).catch(() => [])]);
  $("playlists").replaceChildren(...lists.map(playlistItem));
  if (!lists.length) $("playlists").append(item("None yet: save the queue below."));
  $("server-playlists").replaceChildren(...servers.map(playlistItem));
  if (!servers.length) $("server-playlists").append(item("None yet: a DJ saves one with /playlist save server:True."));
}
async function load(loadAs, name) {
  say("");
  const request = {method: "POST", body: JSON.stringify({name: loadAs})};
  const answer = await api(`/api/v1/guilds/${guild}/playlists/load`, request).catch(() => null);
  if (answer) { show(answer.player); say(`Queued ${answer.queued.length} track(s) from ${name}.`, true); }
}
$("save").onsubmit = async (e) => {
  e.preventDefault();
  say("");
  const name = $("save-name").value.trim();
  if (!name) { say("Give the playlist a name."); return; }
  const request = {method: "POST", body: JSON.stringify({name, overwrite: $("save-over").checked})};
  const saved = await api(`/api/v1/guilds/${guild}/playlists`, request).catch(() => null);
  if (saved) { say(`Saved ${saved.name} (${saved.track_count} tracks).`, true); loadPlaylists(); }
};
$("search").onsubmit = async (e) => {
  e.preventDefault();
  say("");
  const words = $("q").value.trim();
  if (!words) return;
  if (words.includes("://")) { await add(words); return; }
  const results = await api(`/api/v1/guilds/${guild}/search?q=${encodeURIComponent(words)}`).catch(() => []);
  $("results").replaceChildren(...results.map((track) => item(
    `${track.title} — ${track.artist} (${track.duration_s ? clock(track.duration_s) : "live"})`,
    "Add", `Add ${track.title}`, () => add(track.url))));
};
async function add(query) {
  say("");
  const request = {method: "POST", body: JSON.stringify({query})};
  const answer = await api(`/api/v1/guilds/${guild}/queue`, request).catch(() => null);
  if (answer) { show(answer.player); say(`Queued ${answer.queued.length} track(s).`, true); }
}

// ------------------------------------------------------------------ servers and live updates
function listen() {
  if (socket) { socket.onclose = null; socket.close(); }
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}/api/v1/guilds/${guild}/events`);
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.type === "player") {
      if (socket.down) { socket.down = false; say(""); }  // back: the "not running" message goes
      show(message.player);
    }
    if (message.type === "error") { socket.down = true; say(message.error); }  // its shard's process is down
  };
  socket.onclose = () => setTimeout(() => guild && listen(), 3000);
}
async function pick(id) {
  guild = id; state = null; rightsKey = ""; historyKey = ""; queueKey = "";
  history.replaceState(null, "", `/?guild=${id}`);
  show(await api(`/api/v1/guilds/${id}/player`));
  listen();
}
async function start() {
  buildFilters();
  const me = await api("/api/v1/me");
  csrf = me.csrf_token;
  $("who").textContent = me.name;
  const guilds = await api("/api/v1/guilds");
  const select = $("guild");
  select.replaceChildren(...guilds.map((g) =>
    new Option(g.name + (g.playing ? " ♪" : "") + (g.available ? "" : " (unavailable)"), g.id)));
  if (!guilds.length) { say("None of your servers has the bot in it."); return; }
  if (!guilds.some((g) => g.id === guild)) guild = guilds[0].id;
  select.value = guild;
  select.onchange = () => { pick(select.value); loadPlaylists(); };  // the server's own playlists differ
  loadPlaylists();
  await pick(guild);
}

document.querySelectorAll("[data-act]").forEach((b) => b.onclick = () => act(b.dataset.act));
$("pause").onclick = () => act(state && state.paused ? "resume" : "pause");
$("skip").onclick = () => act("skip");
$("loop").onchange = (e) => act("loop", {mode: e.target.value});
$("volume").oninput = (e) => { $("volume-out").textContent = `${e.target.value} %`; };
$("volume").onchange = (e) => act("volume", {percent: Number(e.target.value)});
$("preset").onchange = (e) => { if (e.target.value) act("preset", {name: e.target.value}); e.target.value = ""; };
$("logout").onclick = async () => {
  await api("/auth/logout", {method: "POST"}).catch(() => null);
  if (socket) { socket.onclose = null; socket.close(); }
  document.body.replaceChildren(Object.assign(document.createElement("p"),
    {textContent: "You are logged out. Open this page again to log in."}));
};
start().catch(() => {});
"""
