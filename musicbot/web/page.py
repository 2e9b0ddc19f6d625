"""The dashboard's page, served at ``/`` (first version: servers, now playing with controls and
volume, the queue with drag-and-drop and remove, search and add, filter presets and the 15-band
EQ, live through the WebSocket). Plain HTML, CSS and JavaScript in one document: no build step,
nothing fetched from elsewhere. Kept as a Python string so every way the bot is installed (wheel,
Docker image, single-file binary) carries it without package-data rules.
"""

from __future__ import annotations

PAGE = r"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>musicbot</title>
<style>
  :root { color-scheme: light dark; --accent: #5865f2; --muted: #8a8f98; }
  * { box-sizing: border-box; }
  body { font: 16px/1.4 system-ui, sans-serif; margin: 0; }
  header { display: flex; gap: .75rem; align-items: center; padding: .75rem 1rem;
           background: var(--accent); color: #fff; }
  header h1 { font-size: 1.1rem; margin: 0; flex: 1; }
  header select { max-width: 50%; font: inherit; }
  main { display: grid; gap: 1rem; padding: 1rem; grid-template-columns: 1fr; max-width: 1100px; margin: auto; }
  @media (min-width: 800px) { main { grid-template-columns: 3fr 2fr; } }
  section { border: 1px solid #8884; border-radius: 10px; padding: 1rem; }
  h2 { font-size: 1rem; margin: 0 0 .5rem; }
  .now { display: flex; gap: 1rem; align-items: center; }
  .now img { width: 96px; height: 96px; object-fit: cover; border-radius: 8px; background: #8883; }
  .title { font-weight: 600; }
  .muted { color: var(--muted); font-size: .9rem; }
  progress { width: 100%; }
  .controls { display: flex; flex-wrap: wrap; gap: .5rem; margin: .5rem 0; }
  button { font: inherit; padding: .4rem .8rem; border-radius: 8px; border: 1px solid #8886; cursor: pointer; }
  button:focus-visible, input:focus-visible, select:focus-visible { outline: 3px solid var(--accent); }
  ol { padding-left: 0; margin: 0; list-style: none; }
  li { padding: .3rem 0; display: flex; gap: .5rem; align-items: center; }
  li span { flex: 1; overflow: hidden; text-overflow: ellipsis; }
  li[draggable] { cursor: grab; }
  li.over { border-top: 2px solid var(--accent); }
  .eq { display: grid; grid-template-columns: repeat(15, 1fr); gap: 2px; height: 140px; }
  .eq input { writing-mode: vertical-lr; direction: rtl; width: 100%; height: 120px; }
  #message { min-height: 1.4em; color: #d33; }
  form { display: flex; gap: .5rem; }
  form input { flex: 1; font: inherit; padding: .4rem; }
</style>
</head>
<body>
<header>
  <h1>musicbot</h1>
  <label for="guild" class="muted" style="color:#fff">Server</label>
  <select id="guild" aria-label="Server"></select>
  <span id="who"></span>
</header>
<p id="message" role="status" aria-live="polite" style="padding:0 1rem;margin:.5rem 0 0"></p>
<main>
  <div>
    <section aria-labelledby="np-h">
      <h2 id="np-h">Now playing</h2>
      <div class="now">
        <img id="art" alt="">
        <div style="flex:1">
          <div class="title" id="title">Nothing is playing</div>
          <div class="muted" id="artist"></div>
          <progress id="progress" max="1" value="0" aria-label="Position"></progress>
          <div class="muted" id="time"></div>
        </div>
      </div>
      <div class="controls">
        <button data-act="previous">Previous</button>
        <button id="pause">Pause</button>
        <button data-act="skip">Skip</button>
        <button data-act="stop">Stop</button>
        <button data-act="shuffle">Shuffle</button>
        <label>Volume <input id="volume" type="range" min="0" max="200" step="5" aria-label="Volume"></label>
      </div>
      <div class="muted" id="listeners"></div>
    </section>
    <section aria-labelledby="q-h">
      <h2 id="q-h">Up next <span class="muted" id="qlen"></span></h2>
      <ol id="queue" aria-label="Queue (drag to reorder)"></ol>
    </section>
  </div>
  <div>
    <section aria-labelledby="s-h">
      <h2 id="s-h">Add music</h2>
      <form id="search"><input id="q" aria-label="Search words or a link" placeholder="Search words or a link">
        <button>Search</button></form>
      <ol id="results" aria-label="Search results"></ol>
    </section>
    <section aria-labelledby="f-h">
      <h2 id="f-h">Filters</h2>
      <label>Preset <select id="preset" aria-label="Filter preset">
        <option value="">choose…</option>{{PRESETS}}</select></label>
      <p class="muted">Equalizer, 15 bands (−0.25 … +1)</p>
      <div class="eq" id="eq"></div>
    </section>
  </div>
</main>
<script nonce="{{NONCE}}">
"use strict";
const $ = (id) => document.getElementById(id);
let guild = new URLSearchParams(location.search).get("guild"), csrf = "", socket = null, state = null;

async function api(path, options = {}) {
  const headers = {"Content-Type": "application/json"};
  if (options.method && options.method !== "GET") headers["X-CSRF-Token"] = csrf;
  const response = await fetch(path, {credentials: "same-origin", ...options, headers});
  const body = await response.json().catch(() => ({}));
  if (response.status === 401) { location.href = "/auth/login"; throw new Error("login"); }
  if (!response.ok) { say(body.error || `Error ${response.status}`); throw new Error(body.error); }
  say("");
  return body;
}
function say(text) { $("message").textContent = text; }
function clock(s) { s = Math.max(0, Math.floor(s)); return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`; }
const act = (action, body) => api(`/api/v1/guilds/${guild}/player/${action}`,
  {method: "POST", body: body === undefined ? undefined : JSON.stringify(body)}).then(show).catch(() => {});

function show(player) {
  state = player;
  const current = player.current;
  $("title").textContent = current ? current.title : "Nothing is playing";
  $("artist").textContent = current ? current.artist : "";
  $("art").hidden = !(current && current.artwork_url);
  if (current && current.artwork_url) $("art").src = current.artwork_url;
  $("progress").max = current && current.duration_s ? current.duration_s : 1;
  $("progress").value = player.position_s;
  const length = current && current.duration_s ? clock(current.duration_s) : "live";
  $("time").textContent = current ? `${clock(player.position_s)} / ${length}` : "";
  $("pause").textContent = player.paused ? "Resume" : "Pause";
  $("volume").value = player.volume;
  const names = player.listeners.map((l) => l.name).join(", ");
  $("listeners").textContent = names ? "Listening: " + names : "";
  $("qlen").textContent = player.queue_length ? `(${player.queue_length})` : "";
  const queue = $("queue");
  queue.replaceChildren(...player.queue.map((entry, i) => {
    const li = document.createElement("li");
    li.draggable = true; li.dataset.position = i + 1; li.tabIndex = 0;
    const name = document.createElement("span");
    name.textContent = `${i + 1}. ${entry.title}${entry.artist ? " — " + entry.artist : ""}`;
    const remove = document.createElement("button"); remove.textContent = "Remove";
    remove.setAttribute("aria-label", `Remove ${entry.title}`);
    remove.onclick = () => act("remove", {position: i + 1});
    li.append(name, remove);
    li.ondragstart = (e) => e.dataTransfer.setData("text/plain", String(i + 1));
    li.ondragover = (e) => { e.preventDefault(); li.classList.add("over"); };
    li.ondragleave = () => li.classList.remove("over");
    li.ondrop = (e) => { e.preventDefault(); li.classList.remove("over");
      act("move", {from: Number(e.dataTransfer.getData("text/plain")), to: i + 1}); };
    return li;
  }));
  const bands = (player.filters.equalizer || []).reduce((all, b) => ({...all, [b.band]: b.gain}), {});
  document.querySelectorAll("#eq input").forEach((input, band) => {
    if (document.activeElement !== input) input.value = bands[band] || 0;
  });
}

function listen() {
  if (socket) socket.close();
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}/api/v1/guilds/${guild}/events`);
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.type === "player") show(message.player);
  };
  socket.onclose = () => setTimeout(() => guild && listen(), 3000);
}

async function pick(id) {
  guild = id;
  history.replaceState(null, "", `/?guild=${id}`);
  show(await api(`/api/v1/guilds/${id}/player`));
  listen();
}

async function start() {
  const me = await api("/api/v1/me");
  csrf = me.csrf_token;
  $("who").textContent = me.name;
  const guilds = await api("/api/v1/guilds");
  const select = $("guild");
  select.replaceChildren(...guilds.map((g) => new Option(g.name + (g.playing ? " ♪" : ""), g.id)));
  if (!guilds.length) { say("None of your servers has the bot in it."); return; }
  if (!guilds.some((g) => g.id === guild)) guild = guilds[0].id;
  select.value = guild;
  select.onchange = () => pick(select.value);
  await pick(guild);
}

document.querySelectorAll("[data-act]").forEach((b) => b.onclick = () => act(b.dataset.act));
$("pause").onclick = () => act(state && state.paused ? "resume" : "pause");
$("volume").onchange = (e) => act("volume", {percent: Number(e.target.value)});
$("preset").onchange = (e) => { if (e.target.value) act("preset", {name: e.target.value}); e.target.value = ""; };
for (let band = 0; band < 15; band++) {
  const input = document.createElement("input");
  Object.assign(input, {type: "range", min: -0.25, max: 1, step: 0.05, value: 0});
  input.setAttribute("aria-label", `Equalizer band ${band + 1}`);
  input.onchange = () => {
    const equalizer = [...document.querySelectorAll("#eq input")].map((s, i) => ({band: i, gain: Number(s.value)}));
    act("filters", {...(state ? state.filters : {}), equalizer});
  };
  $("eq").append(input);
}
$("search").onsubmit = async (e) => {
  e.preventDefault();
  const words = $("q").value.trim();
  if (!words) return;
  if (words.includes("://")) { await add(words); return; }
  const results = await api(`/api/v1/guilds/${guild}/search?q=${encodeURIComponent(words)}`).catch(() => []);
  $("results").replaceChildren(...results.map((track) => {
    const li = document.createElement("li");
    const name = document.createElement("span");
    name.textContent = `${track.title} — ${track.artist} (${track.duration_s ? clock(track.duration_s) : "live"})`;
    const button = document.createElement("button"); button.textContent = "Add";
    button.setAttribute("aria-label", `Add ${track.title}`);
    button.onclick = () => add(track.url);
    li.append(name, button);
    return li;
  }));
};
async function add(query) {
  const request = {method: "POST", body: JSON.stringify({query})};
  const answer = await api(`/api/v1/guilds/${guild}/queue`, request).catch(() => null);
  if (answer) { show(answer.player); say(`Queued ${answer.queued.length} track(s).`); }
}
start().catch(() => {});
</script>
</body>
</html>
"""


def render(nonce: str) -> str:
    """The page with this response's script nonce (its Content-Security-Policy allows only that
    script) and the preset names the bot knows."""
    from html import escape

    from musicbot.dsp.presets import EQ_PRESETS, FILTER_PRESETS

    names = ["off", *sorted(FILTER_PRESETS), *sorted(EQ_PRESETS)]
    options = "".join(f"<option>{escape(name)}</option>" for name in names)
    return PAGE.replace("{{PRESETS}}", options).replace("{{NONCE}}", nonce)
