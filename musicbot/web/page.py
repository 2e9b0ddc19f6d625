"""The dashboard's page, served at ``/``: servers, now playing with controls, volume and loop, the
queue (drag-and-drop or Alt+arrow keys to reorder, remove), search and add, history, your
playlists, and the filters (presets, a slider for every filter with its range and unit, the 15-band
EQ), live through the WebSocket, with what the user may do shown ahead (``/rights``).

Plain HTML, CSS and JavaScript (``page_script.py``) in one document: no build step, nothing fetched
from elsewhere. Kept as Python strings so every way the bot is installed (wheel, Docker image,
single-file binary) carries it without package-data rules. The filter sliders are built from
``dsp/settings.py``'s own field specs, so a range the bot accepts is the range the page offers.
"""

from __future__ import annotations

import json
import math
from html import escape
from typing import Any

from musicbot.dsp.settings import BLOCKS, VOLUME, FieldSpec
from musicbot.web.page_script import SCRIPT

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
  header { display: flex; flex-wrap: wrap; gap: .75rem; align-items: center; padding: .75rem 1rem;
           background: var(--accent); color: #fff; }
  header h1 { font-size: 1.1rem; margin: 0; flex: 1; }
  header select { max-width: 50%; font: inherit; }
  header button { background: transparent; color: #fff; border-color: #fff8; }
  main { display: grid; gap: 1rem; padding: 1rem; grid-template-columns: minmax(0, 1fr); max-width: 1100px;
         margin: auto; }
  @media (min-width: 800px) { main { grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); } }
  section { border: 1px solid #8884; border-radius: 10px; padding: 1rem; margin-bottom: 1rem; }
  h2 { font-size: 1rem; margin: 0 0 .5rem; }
  .now { display: flex; gap: 1rem; align-items: center; }
  .now img { width: 96px; height: 96px; object-fit: cover; border-radius: 8px; background: #8883; }
  .title { font-weight: 600; }
  .muted { color: var(--muted); font-size: .9rem; }
  progress { width: 100%; }
  .controls { display: flex; flex-wrap: wrap; gap: .5rem; margin: .5rem 0; align-items: center; border: 0;
              padding: 0; }
  button { font: inherit; padding: .4rem .8rem; border-radius: 8px; border: 1px solid #8886; cursor: pointer; }
  button:disabled, fieldset:disabled button { cursor: not-allowed; opacity: .5; }
  button:focus-visible, input:focus-visible, select:focus-visible, li:focus-visible, summary:focus-visible {
    outline: 3px solid var(--accent); }
  ol { padding-left: 0; margin: 0; list-style: none; }
  li { padding: .3rem 0; display: flex; gap: .5rem; align-items: center; }
  li span { flex: 1; overflow: hidden; text-overflow: ellipsis; }
  li[draggable] { cursor: grab; }
  li.over { border-top: 2px solid var(--accent); }
  details { border-top: 1px solid #8883; padding: .3rem 0; }
  summary { cursor: pointer; }
  .field { display: grid; grid-template-columns: minmax(0, 9rem) minmax(0, 1fr) 4.5rem; gap: .5rem;
           align-items: center; }
  .field output { font-variant-numeric: tabular-nums; text-align: right; }
  .eq { display: grid; grid-template-columns: repeat(15, minmax(0, 1fr)); gap: 2px; height: 140px; }
  .eq input { writing-mode: vertical-lr; direction: rtl; width: 100%; height: 120px; }
  #message { min-height: 1.4em; color: #d33; }
  #message.done { color: inherit; }
  #rights { margin: .5rem 1rem 0; }
  #rights.no { color: #b26b00; }
  form { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; }
  form input[type=text], form input[type=search] { flex: 1; font: inherit; padding: .4rem; min-width: 8rem; }
</style>
</head>
<body>
<header>
  <h1>musicbot</h1>
  <label for="guild" style="color:#fff">Server</label>
  <select id="guild"></select>
  <span id="who"></span>
  <button id="logout" type="button">Log out</button>
</header>
<p id="rights" role="note"></p>
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
          <div class="muted" id="skipped"></div>
          <div id="lyric" aria-live="polite"></div>
        </div>
      </div>
      <fieldset class="controls" id="controls">
        <legend class="muted" style="padding:0">Controls</legend>
        <button data-act="previous">Previous</button>
        <button id="pause">Pause</button>
        <button id="skip">Skip</button>
        <button data-act="stop">Stop</button>
        <button data-act="shuffle">Shuffle</button>
        <label>Loop <select id="loop"><option>off</option><option>track</option><option>queue</option></select></label>
        <label>Volume <input id="volume" type="range" min="0" max="200" step="5"></label>
        <output id="volume-out" for="volume"></output>
      </fieldset>
      <div class="muted" id="listeners"></div>
    </section>
    <section aria-labelledby="q-h">
      <h2 id="q-h">Up next <span class="muted" id="qlen"></span></h2>
      <ol id="queue" aria-label="Queue: drag, or Alt and the arrow keys, to reorder"></ol>
    </section>
    <section aria-labelledby="h-h">
      <h2 id="h-h">History</h2>
      <ol id="history" aria-label="Played lately, newest first"></ol>
    </section>
  </div>
  <div>
    <section aria-labelledby="s-h">
      <h2 id="s-h">Add music</h2>
      <form id="search"><input id="q" type="search" aria-label="Search words or a link"
        placeholder="Search words or a link"><button>Search</button></form>
      <ol id="results" aria-label="Search results"></ol>
    </section>
    <section aria-labelledby="f-h">
      <h2 id="f-h">Filters</h2>
      <fieldset id="filter-panel" style="border:0;padding:0;margin:0">
        <legend class="muted" style="padding:0">Applied as you let go of a slider</legend>
        <label>Preset <select id="preset"><option value="">choose…</option>{{PRESETS}}</select></label>
        <div id="filters"></div>
        <p class="muted">Equalizer, 15 bands (−0.25 … +1)</p>
        <div class="eq" id="eq"></div>
      </fieldset>
    </section>
    <section aria-labelledby="p-h">
      <h2 id="p-h">Your playlists</h2>
      <ol id="playlists" aria-label="Your playlists"></ol>
      <form id="save"><input id="save-name" type="text" maxlength="100" aria-label="Playlist name"
        placeholder="Save the queue as…"><label><input id="save-over" type="checkbox"> replace</label>
        <button>Save</button></form>
      <h2 id="sp-h">This server's playlists</h2>
      <ol id="server-playlists" aria-labelledby="sp-h"></ol>
    </section>
  </div>
</main>
<script type="application/json" id="filter-spec">{{FILTER_SPEC}}</script>
<script nonce="{{NONCE}}">{{SCRIPT}}</script>
</body>
</html>
"""


def _step(spec: FieldSpec) -> float:
    """A slider step of about a hundredth of the range, rounded to a power of ten."""
    return float(10 ** math.floor(math.log10((spec.high - spec.low) / 100)))


def _field(spec: FieldSpec, default: float) -> dict[str, Any]:
    step = _step(spec)
    low = spec.low if spec.low_inclusive else spec.low + step  # "more than 0": the slider starts a step above
    return {"key": spec.json_key, "min": low, "max": spec.high, "step": step, "unit": spec.unit, "default": default}


def filter_catalogue() -> dict[str, Any]:
    """Every filter the bot takes, with its fields' ranges, units and defaults (``dsp/settings.py``)."""
    return {
        "volume": _field(VOLUME, 1.0),
        "blocks": [{"key": block.json_key,
                    "fields": [_field(f, getattr(block.params_type(), f.attr)) for f in block.fields]}
                   for block in BLOCKS],
    }


def render(nonce: str) -> str:
    """The page with this response's script nonce (its Content-Security-Policy allows only that
    script), the preset names the bot knows and the filter catalogue."""
    from musicbot.dsp.presets import EQ_PRESETS, FILTER_PRESETS

    names = ["off", *sorted(FILTER_PRESETS), *sorted(EQ_PRESETS)]
    options = "".join(f"<option>{escape(name)}</option>" for name in names)
    spec = json.dumps(filter_catalogue()).replace("</", "<\\/")  # no "</script>" inside the data block
    return (PAGE.replace("{{PRESETS}}", options).replace("{{FILTER_SPEC}}", spec)
            .replace("{{SCRIPT}}", SCRIPT).replace("{{NONCE}}", nonce))
