"""The OpenAPI 3.1 description of the dashboard's API, served at ``/api/v1/openapi.json``.

Written by hand as data: it is the contract the page and other clients read, and
tests/web/test_dashboard.py checks it against what the routes answer (every route listed, every
answer matching its schema) and validates it with openapi-spec-validator.
"""

from __future__ import annotations

from typing import Any

from musicbot import __version__
from musicbot.web.player_api import ACTIONS, LOOP_MODES, MAX_QUERY_CHARS, MAX_VOLUME_PERCENT

_ERROR = {"type": "object", "required": ["error"], "additionalProperties": False,
          "properties": {"error": {"type": "string", "description": "What went wrong and how to fix it"}}}
_SNOWFLAKE = {"type": "string", "pattern": "^[0-9]{1,20}$"}
_POSITION = {"type": "integer", "minimum": 1, "maximum": 10_000, "description": "A position in the queue, from 1"}


def _body(**properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": list(properties), "additionalProperties": False, "properties": properties}


_NAME = {"type": "string", "minLength": 1, "maxLength": 100, "description": "The playlist's name"}
_GUILD_ID = {"name": "guild_id", "in": "path", "required": True, "schema": _SNOWFLAKE}


def _answer(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    words = {400: "Bad request", 401: "Not logged in", 403: "Not allowed (the commands' rules)",
             404: "Not one of your servers with the bot", 409: "Not possible now (nothing playing, already paused…)",
             429: "Too fast (the same limits as the commands)",
             502: "Discord did not answer",
             503: "Dashboard off, the bot still starting, or the process that runs the server's shard down "
                  "(try again after Retry-After)"}
    return {str(s): _answer(words[s], {"$ref": "#/components/schemas/Error"}) for s in statuses}


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "musicbot dashboard API", "version": __version__,
                 "description": "Log in at /auth/login (Discord OAuth2). State-changing requests need the "
                                "X-CSRF-Token header from /api/v1/me."},
        "paths": {
            "/api/v1/me": {"get": {
                "summary": "Who is logged in",
                "operationId": "me",
                "responses": {"200": _answer("The logged-in user", {"$ref": "#/components/schemas/Me"}),
                              **_errors(401, 503)},
            }},
            "/api/v1/guilds": {"get": {
                "summary": "The servers you share with the bot",
                "operationId": "guilds",
                "responses": {"200": _answer("Shared servers", {
                    "type": "array", "items": {"$ref": "#/components/schemas/Guild"}}), **_errors(401, 502, 503)},
            }},
            "/api/v1/guilds/{guild_id}/player": {"get": {
                "summary": "What the server's player plays, and what comes next",
                "operationId": "player",
                "parameters": [_GUILD_ID],
                "responses": {"200": _answer("The player", {"$ref": "#/components/schemas/Player"}),
                              **_errors(401, 404, 502, 503)},
            }},
            "/api/v1/guilds/{guild_id}/rights": {"get": {
                "summary": "What you may do on the server now (the commands' rules, asked ahead)",
                "description": "Every action is still checked when it is made; this is for showing it ahead.",
                "operationId": "rights",
                "parameters": [_GUILD_ID],
                "responses": {"200": _answer("Your rights", {"$ref": "#/components/schemas/Rights"}),
                              **_errors(401, 404, 409, 502, 503)},
            }},
            "/api/v1/guilds/{guild_id}/player/{action}": {"post": {
                "summary": "Pause, resume, skip, stop, set the volume or the loop mode",
                "description": "The same rules as the slash commands: in the bot's voice channel, the DJ role "
                               "where one is set, a skip without a vote only for those who may. Needs the "
                               "X-CSRF-Token header.",
                "operationId": "act",
                "parameters": [_GUILD_ID, {"name": "action", "in": "path", "required": True,
                                           "schema": {"enum": list(ACTIONS)}}],
                "requestBody": {"required": False, "description": "By action: volume {percent}, loop {mode}, "
                                "seek {position_s}, move {from, to}, remove {position}, preset {name}, filters "
                                "(Lavalink's filter JSON, the whole set); the others take none.",
                                "content": {"application/json": {"schema": {"anyOf": [
                    _body(percent={"type": "integer", "minimum": 0, "maximum": MAX_VOLUME_PERCENT}),
                    _body(mode={"enum": list(LOOP_MODES)}),
                    _body(position_s={"type": "number", "minimum": 0}),
                    _body(**{"from": _POSITION, "to": _POSITION}),
                    _body(position=_POSITION),
                    _body(name={"type": "string", "minLength": 1, "maxLength": 40}),
                    {"type": "object", "description": "filters: Lavalink's filter JSON"},
                ]}}}},
                "responses": {"200": _answer("The player after the action", {"$ref": "#/components/schemas/Player"}),
                              **_errors(400, 401, 403, 404, 409, 429, 502, 503)},
            }},
            "/api/v1/guilds/{guild_id}/events": {"get": {
                "summary": "Live updates (a WebSocket)",
                "description": "Upgrade to a WebSocket: the player ({\"type\": \"player\", \"player\": Player}) "
                               "at once, at every change, and every 5 s while it plays; {\"type\": \"error\", "
                               "\"error\": text} while the server's shard cannot be reached. Only the dashboard's "
                               "own pages may connect (Origin).",
                "operationId": "events",
                "parameters": [_GUILD_ID],
                "responses": {"101": {"description": "Switching to the WebSocket"},
                              **_errors(400, 401, 403, 404, 502, 503)},
            }},
            "/api/v1/guilds/{guild_id}/queue": {"post": {
                "summary": "Play or queue words or a link, as /play",
                "description": "The same resolver, guard and limits as /play; the bot joins your voice channel "
                               "when it is in none. Needs the X-CSRF-Token header.",
                "operationId": "play",
                "parameters": [_GUILD_ID],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["query"], "additionalProperties": False,
                    "properties": {"query": {"type": "string", "minLength": 1, "maxLength": MAX_QUERY_CHARS},
                                   "next": {"type": "boolean", "description": "Put it at the front of the queue"}},
                }}}},
                "responses": {"200": _answer("What was queued, and the player", {
                    "type": "object", "required": ["queued", "player"], "additionalProperties": False,
                    "properties": {"queued": {"type": "array", "items": {"$ref": "#/components/schemas/Entry"}},
                                   "player": {"$ref": "#/components/schemas/Player"}}}),
                    **_errors(400, 401, 403, 404, 409, 429, 502, 503)},
            }},
            "/api/v1/guilds/{guild_id}/search": {"get": {
                "summary": "Search results to pick from, as /search",
                "operationId": "search",
                "parameters": [_GUILD_ID, {"name": "q", "in": "query", "required": True,
                                           "schema": {"type": "string", "minLength": 1, "maxLength": MAX_QUERY_CHARS}}],
                "responses": {"200": _answer("Results, best first", {
                    "type": "array", "items": {"$ref": "#/components/schemas/Track"}}),
                    **_errors(400, 401, 404, 409, 429, 502, 503)},
            }},
            "/api/v1/guilds/{guild_id}/history": {"get": {
                "summary": "What was played on the server lately, as /history",
                "operationId": "history", "parameters": [_GUILD_ID],
                "responses": {"200": _answer("Newest first", {"type": "array",
                                                              "items": {"$ref": "#/components/schemas/Played"}}),
                              **_errors(401, 404, 409, 502, 503)},
            }},
            "/api/v1/playlists": {"get": {
                "summary": "Your playlists, as /playlist list",
                "operationId": "playlists",
                "responses": {"200": _answer("Yours", {"type": "array",
                                                       "items": {"$ref": "#/components/schemas/Playlist"}}),
                              **_errors(401, 409, 503)},
            }},
            "/api/v1/guilds/{guild_id}/playlists": {"get": {
                "summary": "The server's own playlists and those its members shared there, as /playlist list",
                "operationId": "server_playlists", "parameters": [_GUILD_ID],
                "responses": {"200": _answer("The server's, then those shared there", {
                    "type": "array", "items": {"$ref": "#/components/schemas/Playlist"}}),
                    **_errors(401, 404, 409, 502, 503)},
            }, "post": {
                "summary": "Save the server's current track and queue as your playlist, as /playlist save",
                "operationId": "save_playlist", "parameters": [_GUILD_ID],
                "requestBody": {"required": True, "content": {"application/json": {"schema": _body(
                    name=_NAME, overwrite={"type": "boolean"})}}},
                "responses": {"200": _answer("Saved", {"$ref": "#/components/schemas/Playlist"}),
                              **_errors(400, 401, 403, 404, 409, 429, 502, 503)},
            }},
            "/api/v1/guilds/{guild_id}/playlists/load": {"post": {
                "summary": "Queue a playlist (send its load_as as name), as /playlist load",
                "operationId": "load_playlist", "parameters": [_GUILD_ID],
                "requestBody": {"required": True, "content": {"application/json": {"schema": _body(
                    name=_NAME, next={"type": "boolean"})}}},
                "responses": {"200": _answer("What was queued, and the player", {
                    "type": "object", "required": ["queued", "player"], "additionalProperties": False,
                    "properties": {"queued": {"type": "array", "items": {"$ref": "#/components/schemas/Entry"}},
                                   "player": {"$ref": "#/components/schemas/Player"}}}),
                    **_errors(400, 401, 403, 404, 409, 429, 502, 503)},
            }},
            "/api/v1/openapi.json": {"get": {
                "summary": "This document",
                "operationId": "openapi",
                "responses": {"200": _answer("OpenAPI 3.1", {"type": "object"})},
            }},
        },
        "components": {
            "schemas": {
                "Error": _ERROR,
                "Me": {"type": "object", "required": ["id", "name", "avatar", "csrf_token"],
                       "additionalProperties": False,
                       "properties": {"id": _SNOWFLAKE, "name": {"type": "string"},
                                      "avatar": {"type": ["string", "null"]},
                                      "csrf_token": {"type": "string", "description": "Send as X-CSRF-Token"}}},
                "Entry": {"type": "object", "additionalProperties": False,
                          "required": ["entry_id", "title", "artist", "duration_s", "url", "artwork_url",
                                       "requester_id", "autoplay", "requester_name"],
                          "properties": {"entry_id": {"type": "integer"}, "title": {"type": "string"},
                                         "artist": {"type": "string"}, "duration_s": {"type": ["number", "null"]},
                                         "url": {"type": "string"}, "artwork_url": {"type": ["string", "null"]},
                                         "requester_id": {"type": ["string", "null"]},
                                         "autoplay": {"type": "boolean"},
                                         "requester_name": {"type": ["string", "null"],
                                                            "description": "who asked from outside Discord "
                                                                           "(a Telegram user), else null"}}},
                "Player": {"type": "object", "additionalProperties": False,
                           "required": ["connected", "channel_id", "channel_name", "current", "position_s", "paused",
                                        "volume", "loop", "autoplay", "filters", "crossfade_s", "listeners", "queue",
                                        "queue_length", "as_of", "length_s", "lyric_line", "skipped"],
                           "properties": {
                               "connected": {"type": "boolean"}, "channel_id": {"type": ["string", "null"]},
                               "channel_name": {"type": ["string", "null"]},
                               "current": {"oneOf": [{"$ref": "#/components/schemas/Entry"}, {"type": "null"}]},
                               "position_s": {"type": "number", "minimum": 0}, "paused": {"type": "boolean"},
                               "volume": {"type": "integer", "minimum": 0, "maximum": MAX_VOLUME_PERCENT},
                               "loop": {"enum": list(LOOP_MODES)}, "autoplay": {"type": "boolean"},
                               "filters": {"type": "object", "description": "Lavalink's filter JSON, as /filter"},
                               "crossfade_s": {"type": "number", "minimum": 0},
                               "listeners": {"type": "array", "items": {
                                   "type": "object", "required": ["id", "name"], "additionalProperties": False,
                                   "properties": {"id": _SNOWFLAKE, "name": {"type": "string"}}}},
                               "queue": {"type": "array", "items": {"$ref": "#/components/schemas/Entry"}},
                               "queue_length": {"type": "integer", "minimum": 0},
                               "as_of": {"type": "number", "description": "When the bot took this view (Unix "
                                                                          "seconds): keep the newest"},
                               "length_s": {"type": ["number", "null"], "minimum": 0,
                                            "description": "The current track's length as heard: SponsorBlock's "
                                                           "skipped stretches are not counted (nor in position_s)"},
                               "lyric_line": {"type": ["string", "null"],
                                              "description": "The synced lyric line sung now (LRCLIB); pushed on "
                                                             "the live socket when it changes"},
                               "skipped": {"type": ["string", "null"],
                                           "description": "What SponsorBlock last left out of this track"}}},
                "Right": {"type": "object", "required": ["allowed", "why_not"], "additionalProperties": False,
                          "properties": {"allowed": {"type": "boolean"},
                                         "why_not": {"type": ["string", "null"],
                                                     "description": "The commands' refusal, when not allowed"}}},
                "Rights": {"type": "object", "additionalProperties": False,
                           "required": ["dj", "control", "add", "skip", "forbidden_filters"],
                           "properties": {
                               "dj": {"type": "boolean"},
                               "control": {"$ref": "#/components/schemas/Right",
                                           "description": "Pause, volume, filters, queue edits"},
                               "add": {"$ref": "#/components/schemas/Right", "description": "Play, load a playlist"},
                               "skip": {"$ref": "#/components/schemas/Right", "description": "Skip without a vote"},
                               "forbidden_filters": {"type": "array", "items": {"type": "string"}}}},
                "Track": {"type": "object", "additionalProperties": False,
                          "required": ["title", "artist", "duration_s", "url", "artwork_url"],
                          "properties": {"title": {"type": "string"}, "artist": {"type": "string"},
                                         "duration_s": {"type": ["number", "null"]}, "url": {"type": "string"},
                                         "artwork_url": {"type": ["string", "null"]}}},
                "Played": {"type": "object", "additionalProperties": False,
                           "required": ["title", "artist", "url", "user_id", "autoplay", "started_at", "outcome"],
                           "properties": {"title": {"type": "string"}, "artist": {"type": "string"},
                                          "url": {"type": "string"}, "user_id": {"type": ["string", "null"]},
                                          "autoplay": {"type": "boolean"},
                                          "started_at": {"type": "string", "format": "date-time"},
                                          "outcome": {"type": ["string", "null"]}}},
                "Playlist": {"type": "object", "additionalProperties": False,
                             "required": ["name", "track_count", "duration_s", "updated_at", "whose", "load_as"],
                             "properties": {"name": {"type": "string"}, "track_count": {"type": "integer"},
                                            "duration_s": {"type": "number"},
                                            "updated_at": {"type": "string", "format": "date-time"},
                                            "whose": {"enum": ["yours", "server", "shared"],
                                                      "description": "Yours, the server's own, or a member's "
                                                                     "shared with the server"},
                                            "load_as": {"type": "string", "description": "What to send as name "
                                                        "to load it: the name for yours, #<id> for the others"}}},
                "Guild": {"type": "object", "required": ["id", "name", "icon", "playing", "available"],
                          "additionalProperties": False,
                          "properties": {"id": _SNOWFLAKE, "name": {"type": "string"},
                                         "icon": {"type": ["string", "null"]},
                                         "playing": {"type": "boolean", "description": "Music is playing there now"},
                                         "available": {"type": "boolean", "description":
                                                       "False while the process that runs its shard is down"}}},
            },
            "securitySchemes": {"session": {"type": "apiKey", "in": "cookie", "name": "musicbot_session"}},
        },
        "security": [{"session": []}],
    }
