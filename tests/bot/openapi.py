"""Validate the JSON bodies the bot sends against Discord's own OpenAPI description (shared/discord-openapi.json).

The document is OpenAPI 3.1.0 without ``jsonSchemaDialect``, so its schemas are JSON Schema 2020-12 (the OAS base
dialect adds only annotations: ``discriminator``, ``example``, ``x-…``): nullable values are written as
``"type": [..., "null"]`` or ``oneOf: [{"type": "null"}, {...}]``, both plain 2020-12 that
:class:`~jsonschema.Draft202012Validator` enforces as written. ``$ref``\\ s point into ``#/components/schemas`` and
are resolved inside the one document (a :mod:`referencing` registry holding it under :data:`DOCUMENT_URI`).

Unions: where Discord's generator marks ``anyOf`` with ``"x-discord-union": "oneOf"`` the alternatives are the
shapes one request may take, but they are not disjoint as JSON Schemas (``POST /webhooks/{id}/{token}`` accepts
``IncomingWebhookRequestPartial`` or ``IncomingWebhookUpdateRequestPartial``, and every body valid for the second
is valid for the first), so they are validated as the ``anyOf`` they are written as; where the alternatives carry a
discriminating ``type`` (interaction callbacks) that is the same thing as ``oneOf``. Plain ``oneOf`` in the document
(null-or-object, component types, option types) is disjoint and enforced as ``oneOf``.

Formats are asserted, not just annotated: ``int32``/``int64`` ranges, ``double``, ``snowflake``, ``date-time``
and ``uri`` (absolute, with a scheme), so e.g. an embed timestamp that is not ISO 8601 fails.

Multipart requests (files): the fake records their ``payload_json`` part plus ``_files`` (the file names); the
``payload_json`` part is validated against the route's JSON schema (the multipart schema is that plus
``files[n]`` binary parts), and every ``attachments[].id`` must name a file that was sent.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from jsonschema import Draft202012Validator, FormatChecker, ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.harness import FakeDiscord

REPO_ROOT = Path(__file__).resolve().parents[2]
# CI clones the repo with shared/ beside it; in the workplace the repo is /work/main and shared is /work/shared.
SPEC_PATH = REPO_ROOT / ".." / "shared" / "discord-openapi.json"
DOCUMENT_URI = "urn:discord:openapi"
JSON_MEDIA_TYPE = "application/json"
BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")
MAX_SHOWN_PAYLOAD = 3000


class PayloadError(AssertionError):
    """A body the bot sent does not match Discord's schema for that request."""


@dataclass(frozen=True)
class Route:
    template: str  # e.g. "/channels/{channel_id}/messages/{message_id}"
    pattern: re.Pattern[str]
    literal_segments: int  # more literal segments = more specific ("@original" beats "{message_id}")


def _route(template: str) -> Route:
    parts = template.strip("/").split("/")
    regex = "".join("/" + ("[^/]+" if p.startswith("{") else re.escape(p)) for p in parts)
    return Route(template, re.compile(regex), sum(not p.startswith("{") for p in parts))


def _pointer_escape(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")


def _int_range(bits: int) -> Any:
    low, high = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    return lambda v: not isinstance(v, int) or isinstance(v, bool) or low <= v <= high


def _date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return "T" in value.upper() and parsed.tzinfo is not None  # RFC 3339: date, time and offset


def _uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return bool(parts.scheme) and " " not in value


def format_checker() -> FormatChecker:
    checker = FormatChecker(formats=())
    checker.checks("int32")(_int_range(32))
    checker.checks("int64")(_int_range(64))
    checker.checks("double")(lambda v: not isinstance(v, bool))
    checker.checks("snowflake")(lambda v: not isinstance(v, str) or v.isdigit())
    checker.checks("date-time")(_date_time)
    checker.checks("uri")(_uri)
    return checker


class DiscordOpenAPI:
    """Request-body schemas of Discord's REST API, looked up by (method, concrete path)."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.version = str(document.get("openapi", ""))
        if not self.version.startswith("3.1"):
            raise ValueError(f"expected OpenAPI 3.1 (JSON Schema 2020-12), got {self.version!r}")
        resource: Resource[Any] = Resource.from_contents(document, default_specification=DRAFT202012)
        self.registry: Registry[Any] = Registry().with_resource(DOCUMENT_URI, resource)
        self.routes = sorted((_route(t) for t in document["paths"]), key=lambda r: -r.literal_segments)
        self._checker = format_checker()

    @classmethod
    @functools.cache
    def load(cls, path: Path = SPEC_PATH) -> DiscordOpenAPI:
        if not path.is_file():
            raise FileNotFoundError(f"Discord's OpenAPI description is not at {path.resolve()}: the bot tests expect "
                                    "the shared/ folder beside the repository (as CI clones it)")
        return cls(json.loads(path.read_text(encoding="utf-8")))

    def route(self, path: str) -> Route | None:
        """The most specific path template matching a concrete path (``/api/v10`` stripped, no query)."""
        path = path.split("?", 1)[0].rstrip("/") or "/"
        for route in self.routes:  # most literal segments first
            if route.pattern.fullmatch(path):
                return route
        return None

    def body_spec(self, method: str, path: str) -> tuple[Route, dict[str, Any] | None]:
        """The route and its ``requestBody`` object (None when the operation takes no body).

        Raises PayloadError when the spec has no such path or no such method on it.
        """
        route = self.route(path)
        if route is None:
            raise PayloadError(f"{method} {path}: no path in Discord's OpenAPI description matches")
        operation = self.document["paths"][route.template].get(method.lower())
        if operation is None:
            raise PayloadError(f"{method} {path}: {route.template} has no {method} operation in the description")
        return route, operation.get("requestBody")

    def validator(self, method: str, template: str) -> Draft202012Validator:
        return self._validator(method.lower(), template)

    @functools.cache  # noqa: B019  (one instance per document, kept for the session)
    def _validator(self, method: str, template: str) -> Draft202012Validator:
        pointer = "/".join(
            _pointer_escape(s)
            for s in ("paths", template, method, "requestBody", "content", JSON_MEDIA_TYPE, "schema")
        )
        schema = {"$ref": f"{DOCUMENT_URI}#/{pointer}"}
        return Draft202012Validator(schema, registry=self.registry, format_checker=self._checker)

    def errors(self, method: str, path: str, body: Any) -> list[str]:
        """Every reason ``body`` (the recorded JSON, ``None`` for no body) is not a valid request; [] if it is."""
        method = method.upper()
        route, request_body = self.body_spec(method, path)
        if body is None:
            if request_body is not None and request_body.get("required"):
                return [f"{method} {route.template} requires a body; none was sent"]
            return []
        if request_body is None:
            return [f"{method} {route.template} takes no body, but one was sent"]
        if JSON_MEDIA_TYPE not in request_body.get("content", {}):
            return [f"{method} {route.template} takes no JSON body"]
        problems: list[str] = []
        if isinstance(body, dict) and "_files" in body:  # multipart: the recorder kept payload_json + file names
            files = body["_files"]
            body = {k: v for k, v in body.items() if k != "_files"}
            problems += _attachment_problems(body, files)
        validator = self.validator(method, route.template)
        problems += [explain(p) for p in _problems(validator.iter_errors(body))]
        return problems

    def validate(self, method: str, path: str, body: Any) -> None:
        """Raise :class:`PayloadError` naming every schema violation and showing the payload."""
        problems = self.errors(method, path, body)
        if problems:
            raise PayloadError(report(method, path, body, problems))


def _attachment_problems(body: Any, files: list[str]) -> list[str]:
    out = []
    for attachment in (body.get("attachments") or []) if isinstance(body, dict) else []:
        index = attachment.get("id") if isinstance(attachment, dict) else None
        if not (isinstance(index, int | str) and str(index).isdigit() and int(index) < len(files)):
            out.append(f"attachments: {attachment!r} names no uploaded file (sent: {files})")
    return out


def _ruled_out(errors: Iterable[ValidationError]) -> bool:
    """True when a union branch failed on its ``type`` tag or on the JSON type itself (the ``null`` branch of a
    nullable object): the body is plainly meant as another branch."""
    return any(
        (e.validator in ("enum", "const") and list(e.relative_path) == ["type"])
        or (e.validator == "type" and not e.relative_path)
        for e in errors
    )


Problem = tuple[str, str, str]  # (JSON path in the body, message, schema path)


def _problems(errors: Iterable[ValidationError]) -> list[Problem]:
    """The errors worth showing: unions are opened up and branches that plainly are not what the body meant
    (wrong ``type`` tag, wrong JSON type) are dropped. When several branches remain, the problems they all share
    are shown (both webhook shapes reject the same bad field); failing that, the union's own message with each
    remaining branch's problems."""
    out: list[Problem] = []
    for error in errors:
        if error.validator not in ("anyOf", "oneOf") or not error.context:
            out.append(_problem(error))
            continue
        branches: dict[int, list[ValidationError]] = {}
        for sub in error.context:
            branches.setdefault(int(sub.relative_schema_path[0]), []).append(sub)
        plausible = [_problems(errs) for errs in branches.values() if not _ruled_out(errs)]
        common = [p for p in plausible[0] if all(p[:2] in [q[:2] for q in other] for other in plausible[1:])] \
            if plausible else []
        if common:
            out += common
        else:
            where, message, schema_at = _problem(error)
            detail = "".join("\n      or: " + "; ".join(f"{w}: {m}" for w, m, _ in branch) for branch in plausible)
            out.append((where, message + detail, schema_at))
    return out


def _problem(error: ValidationError) -> Problem:
    message = error.message if len(error.message) <= 300 else error.message[:160] + " … " + error.message[-100:]
    return error.json_path, message, "/".join(str(p) for p in error.absolute_schema_path)


def explain(problem: Problem) -> str:
    where, message, schema_at = problem
    return f"at {where}: {message}  [schema: {schema_at}]"


def report(method: str, path: str, body: Any, problems: list[str]) -> str:
    shown = json.dumps(body, ensure_ascii=False, indent=1)
    if len(shown) > MAX_SHOWN_PAYLOAD:
        shown = shown[:MAX_SHOWN_PAYLOAD] + " …"
    return f"{method} {path} violates Discord's OpenAPI schema:\n  " + "\n  ".join(problems) + f"\npayload: {shown}"


def validate_requests(requests: Iterable[Any], spec: DiscordOpenAPI | None = None) -> None:
    """Validate every recorded request (``RecordedRequest``: method, path, json) the bot sent; raise on the first
    batch of violations, all of them listed."""
    spec = spec or DiscordOpenAPI.load()
    failures = []
    for rec in requests:
        if rec.method.upper() not in BODY_METHODS and rec.json is None:
            continue  # GETs and other body-less reads
        try:
            problems = spec.errors(rec.method, rec.path, rec.json)
        except PayloadError as err:
            problems = [str(err)]
        if problems:
            failures.append(report(rec.method, rec.path, rec.json, problems))
    if failures:
        raise PayloadError(f"{len(failures)} request(s) the bot sent violate Discord's schema:\n\n"
                           + "\n\n".join(failures))


_VALIDATED_UP_TO = pytest.StashKey[int]()


def check_sent_payloads(item: pytest.Item) -> None:
    """Validate what the bot sent to the test's ``fake_discord`` since the last check of this test item."""
    fake = (getattr(item, "funcargs", None) or {}).get("fake_discord")
    if not isinstance(fake, FakeDiscord):
        return
    start = item.stash.get(_VALIDATED_UP_TO, 0)
    item.stash[_VALIDATED_UP_TO] = len(fake.requests)
    validate_requests(fake.requests[start:])
