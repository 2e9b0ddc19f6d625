"""The OpenAPI 3.1 description of the dashboard's API, served at ``/api/v1/openapi.json``.

Written by hand as data: it is the contract the page and other clients read, and
tests/web/test_dashboard.py checks it against what the routes answer (every route listed, every
answer matching its schema) and validates it with openapi-spec-validator.
"""

from __future__ import annotations

from typing import Any

from musicbot import __version__

_ERROR = {"type": "object", "required": ["error"], "additionalProperties": False,
          "properties": {"error": {"type": "string", "description": "What went wrong and how to fix it"}}}
_SNOWFLAKE = {"type": "string", "pattern": "^[0-9]{1,20}$"}


def _answer(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    words = {400: "Bad request", 401: "Not logged in", 403: "Refused", 502: "Discord did not answer",
             503: "Dashboard off, or the bot still starting"}
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
                "Guild": {"type": "object", "required": ["id", "name", "icon", "playing"],
                          "additionalProperties": False,
                          "properties": {"id": _SNOWFLAKE, "name": {"type": "string"},
                                         "icon": {"type": ["string", "null"]},
                                         "playing": {"type": "boolean", "description": "Music is playing there now"}}},
            },
            "securitySchemes": {"session": {"type": "apiKey", "in": "cookie", "name": "musicbot_session"}},
        },
        "security": [{"session": []}],
    }
