#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A local fake LLM provider for tests: OpenAI chat completions and Anthropic Messages over plain
HTTP/1.1 on loopback, with schema-valid answers and fault injection chosen by the model name.

One asyncio event loop, one Protocol object per connection, no threads: a request is parsed by
hand (request line, headers, Content-Length body, keep-alive, Expect: 100-continue), answered by a
synchronous function that returns an Action, and an answer with latency is written later by
loop.call_later, so ten thousand waiting requests cost ten thousand timers, not ten thousand
tasks or threads. Requests on one connection are answered in order, one at a time.

Fault injection lives in the model string: `base+directive+directive=value` (see README.md).
"First N calls" counters are keyed by the full model string, shared by all connections, so
concurrent tests that use different model strings never see each other's faults. Control
endpoints (`/_stats`, `/_reset`, `/_requests`) let a test check what reached the provider, how many
calls a model received, the peak concurrency and the peak rate in any sliding 60 s window.

Run: /usr/bin/python3 tests/fake/fake_llm.py --port 0 --port-file PATH [--api-key K] [--no-log]
Import: start_in_thread() -> Handle(host, port, stop)."""

import argparse
import asyncio
import collections
import hashlib
import json
import math
import os
import re
import signal
import sys
import threading
import time
import traceback
from typing import Callable, NamedTuple
from urllib.parse import unquote_plus

MAX_HEAD = 64 * 1024
MAX_BODY = 64 * 1024 * 1024
LOG_BODY_MAX = 1024 * 1024
DEFAULT_ARRAY_LEN = 3
MAX_ARRAY_LEN = 10000
MAX_DEPTH = 32
SHALLOW = 8  # below this depth objects keep only required keys and arrays only minItems items

REASONS = {
    100: "Continue", 200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
    405: "Method Not Allowed", 413: "Payload Too Large", 429: "Too Many Requests",
    431: "Request Header Fields Too Large", 500: "Internal Server Error",
    501: "Not Implemented", 503: "Service Unavailable", 529: "Overloaded",
}
JSON_TYPES = ("object", "array", "string", "integer", "number", "boolean", "null")
KEY_HEADERS = ("authorization", "x-api-key", "api-key")


def _dumps(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


def _tokens(text):
    """Deterministic token count: one token per 4 characters, at least 1 for non-empty text."""
    return (len(text) + 3) // 4


def short_hash(text):
    """The 6-hex-digit tag that plain answers carry (sha1 of the last user message, UTF-8)."""
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:6]


# --------------------------------------------------------------------------------------------
# Model directives


class DirectiveError(ValueError):
    pass


# Phase faults, consumed in this order by the call number of the model string. Bare name: the
# default count (None = every call).
PHASES = (("drop", 1), ("hang", None), ("fail429", None), ("fail529", None), ("fail500", None),
          ("fail503", None),
          ("truncate", None), ("badjson", None))
FLAGS = ("dupes", "think", "fence", "reasoning_content")
INT_DIRECTIVES = ("count", "retry_after", "schemabad", "leakkey", "length", "maxout",
                  "cache", "pick") + tuple(
    p for p, _ in PHASES)


class Directives:
    __slots__ = ("base", "latency", "phases", "retry_after", "schemabad", "count", "params",
                 "flags", "leakkey", "length", "maxout", "cache", "pick")

    def __init__(self):
        self.base = ""
        self.latency = 0.0
        self.phases = []  # [(name, count or None)] in PHASES order
        self.retry_after = 1
        self.schemabad = 0  # answers to spoil; -1 = all
        self.count = None
        self.params = set()
        self.flags = set()
        self.leakkey = 0  # times the caller's key is repeated in fault messages
        self.length = 0  # text answers to cut off at the output limit; -1 = all
        self.maxout = None  # the largest max_tokens the model accepts
        # the shortest prefix (characters) cached; OpenAI: None = no caching; Anthropic: any
        self.cache = None
        self.pick = 0  # enums answer their value at this index (modulo their length)


_ALIASES = {"dropN": "drop", "dropn": "drop", "retry-after": "retry_after",
            "reasoning": "reasoning_content"}
_directive_cache = {}


def parse_model(model):
    """Splits 'base+d1+d2=v' into Directives; raises DirectiveError on an unknown directive."""
    d = _directive_cache.get(model)
    if d is not None:
        return d
    parts = model.split("+")
    d = Directives()
    d.base = parts[0]
    phase_counts = {}
    for part in parts[1:]:
        name, eq, value = part.partition("=")
        name = _ALIASES.get(name, name)
        if name == "latency":
            try:
                d.latency = float(value) / 1000.0
            except ValueError:
                raise DirectiveError("latency needs milliseconds, got %r" % value) from None
            if d.latency < 0:
                raise DirectiveError("latency must be >= 0")
        elif name == "fail400param":
            if not value:
                raise DirectiveError("fail400param needs a parameter name")
            d.params.update(p for p in value.split(",") if p)
        elif name in FLAGS:
            if eq:
                raise DirectiveError("%s takes no value" % name)
            d.flags.add(name)
        elif name in INT_DIRECTIVES:
            n = None
            if eq:
                try:
                    n = int(value)
                except ValueError:
                    raise DirectiveError("%s needs an integer, got %r" % (name, value)) from None
                if n < 0:
                    raise DirectiveError("%s must be >= 0" % name)
            if name == "count":
                if n is None:
                    raise DirectiveError("count needs a value")
                d.count = min(n, MAX_ARRAY_LEN)
            elif name == "retry_after":
                if n is None:
                    raise DirectiveError("retry_after needs seconds")
                d.retry_after = n
            elif name == "schemabad":
                d.schemabad = -1 if n is None else n
            elif name == "leakkey":
                d.leakkey = 1 if n is None else n
            elif name == "length":
                d.length = -1 if n is None else n
            elif name == "pick":
                d.pick = n or 0
            elif name == "maxout":
                if n is None:
                    raise DirectiveError("maxout needs a token count")
                d.maxout = n
            elif name == "cache":
                if n is None:
                    raise DirectiveError("cache needs a length in characters")
                d.cache = n
            else:
                phase_counts[name] = n if eq else dict(PHASES)[name]
        else:
            raise DirectiveError("unknown fake directive %r in model %r" % (part, model))
    d.phases = [(p, phase_counts[p]) for p, _ in PHASES if p in phase_counts]
    if len(_directive_cache) > 100000:
        _directive_cache.clear()
    _directive_cache[model] = d
    return d


# --------------------------------------------------------------------------------------------
# Schema-driven values


def _pick_type(t):
    if isinstance(t, list):
        for x in t:
            if x != "null":
                return x
        return "null" if t else None
    return t


def _b36(n):
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


class ValueGen:
    """Builds a value that satisfies a JSON schema (the subset task schemas use: type, properties,
    required, items, enum, const, min/max bounds, lengths, local $ref, anyOf/oneOf/allOf).

    Strings carry their label (property name), the prompt tag and the item index, so strings in
    one array are distinct; `dupes` pairs them up instead. Arrays get `count` items when set
    (ignoring the schema's bounds), else `exact` clamped to minItems/maxItems, else 3 clamped."""

    def __init__(self, root, tag, exact=None, count=None, dupes=False, pick=0):
        self.pick = pick
        self.root = root
        self.tag = tag
        self.exact = exact
        self.count = count
        self.dupes = dupes

    def resolve(self, s, depth=0):
        while isinstance(s, dict) and isinstance(s.get("$ref"), str) and depth < MAX_DEPTH:
            ref = s["$ref"]
            if not ref.startswith("#"):
                return {}
            target = self.root
            for piece in ref[1:].split("/"):
                if not piece:
                    continue
                piece = piece.replace("~1", "/").replace("~0", "~")
                if isinstance(target, dict) and piece in target:
                    target = target[piece]
                else:
                    return {}
            s = target
            depth += 1
        if isinstance(s, dict) and "allOf" in s and isinstance(s["allOf"], list):
            merged = {k: v for k, v in s.items() if k != "allOf"}
            props = dict(merged.get("properties") or {})
            req = list(merged.get("required") or [])
            for sub in s["allOf"]:
                sub = self.resolve(sub, depth + 1)
                if not isinstance(sub, dict):
                    continue
                for k, v in sub.items():
                    if k == "properties" and isinstance(v, dict):
                        props.update(v)
                    elif k == "required" and isinstance(v, list):
                        req += [r for r in v if r not in req]
                    else:
                        merged.setdefault(k, v)
            if props:
                merged["properties"] = props
            if req:
                merged["required"] = req
            s = merged
        for key in ("anyOf", "oneOf"):
            if isinstance(s, dict) and isinstance(s.get(key), list) and s[key]:
                options = [self.resolve(o, depth + 1) for o in s[key]]
                chosen = next((o for o in options
                               if not (isinstance(o, dict) and o.get("type") == "null")),
                              options[0])
                rest = {k: v for k, v in s.items() if k != key}
                if isinstance(chosen, dict):
                    rest.update(chosen)
                s = rest
        return s

    def schema_type(self, s):
        t = _pick_type(s.get("type"))
        if t is None:
            if "properties" in s or "required" in s:
                return "object"
            if "items" in s or "minItems" in s or "maxItems" in s:
                return "array"
            return "string"
        return t

    def array_len(self, s):
        if self.count is not None:
            return self.count
        lo = s.get("minItems")
        hi = s.get("maxItems")
        n = self.exact if self.exact is not None else DEFAULT_ARRAY_LEN
        if isinstance(lo, int) and n < lo:
            n = lo
        if isinstance(hi, int) and n > hi:
            n = hi
        return max(0, min(n, MAX_ARRAY_LEN))

    def value(self, s, label="value", i=0, depth=0):
        s = self.resolve(s)
        if not isinstance(s, dict) or depth > MAX_DEPTH:
            return self.string({}, label, i)
        if "const" in s:
            return s["const"]
        enum = s.get("enum")
        if isinstance(enum, list) and enum:
            return enum[(i + self.pick) % len(enum)]
        t = self.schema_type(s)
        if t == "object":
            out = {}
            props = s.get("properties")
            required = s.get("required") or ()
            if isinstance(props, dict):
                for k, ps in props.items():
                    if depth < SHALLOW or k in required:
                        out[k] = self.value(ps, k, i, depth + 1)
            for r in s.get("required") or ():
                if isinstance(r, str) and r not in out:
                    out[r] = self.string({}, r, i)
            return out
        if t == "array":
            items = s.get("items")
            if isinstance(items, list):  # draft-04 tuple form
                return [self.value(x, label, j, depth + 1) for j, x in enumerate(items)]
            n = self.array_len(s)
            if depth >= SHALLOW:  # deep (likely recursive) schema: keep it small
                lo = s.get("minItems")
                n = lo if isinstance(lo, int) and lo > 0 else 0
            return [self.value(items, label, (j // 2 if self.dupes else j), depth + 1)
                    for j in range(n)]
        if t == "string":
            return self.string(s, label, i)
        if t in ("integer", "number"):
            return self.number(s, t, i)
        if t == "boolean":
            return i % 2 == 0
        if t == "null":
            return None
        return self.string(s, label, i)

    def string(self, s, label, i):
        fmt = s.get("format")
        if fmt == "date-time":
            v = "2024-01-%02dT00:00:00Z" % (1 + i % 28)
        elif fmt == "date":
            v = "2024-01-%02d" % (1 + i % 28)
        elif fmt == "email":
            v = "user%d.%s@example.com" % (i + 1, self.tag)
        elif fmt in ("uri", "url"):
            v = "https://example.com/%s/%d" % (self.tag, i + 1)
        elif fmt == "uuid":
            h = hashlib.sha1(("%s/%s/%d" % (self.tag, label, i)).encode()).hexdigest()
            v = "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:32])
        else:
            v = "%s %s %d" % (label, self.tag, i + 1)
        lo = s.get("minLength")
        hi = s.get("maxLength")
        if isinstance(hi, int) and len(v) > hi:
            code = _b36(i)
            if hi >= len(code):
                v = (label + self.tag)[: hi - len(code)] + code
            else:
                v = code[:hi]
        if isinstance(lo, int) and len(v) < lo:
            v = v + "x" * (lo - len(v))
        return v

    def number(self, s, t, i):
        def num(x):
            return isinstance(x, (int, float)) and not isinstance(x, bool)

        lo, hi = s.get("minimum"), s.get("maximum")
        xlo, xhi = s.get("exclusiveMinimum"), s.get("exclusiveMaximum")
        lo = lo if num(lo) else None
        hi = hi if num(hi) else None
        lo_ex = xlo is True and lo is not None  # draft-04 boolean form
        hi_ex = xhi is True and hi is not None
        if num(xlo) and (lo is None or xlo >= lo):
            lo, lo_ex = xlo, True
        if num(xhi) and (hi is None or xhi <= hi):
            hi, hi_ex = xhi, True
        if t == "integer":
            a = None if lo is None else (math.floor(lo) + 1 if lo_ex else math.ceil(lo))
            b = None if hi is None else (math.ceil(hi) - 1 if hi_ex else math.floor(hi))
            v = (a if a is not None else 1) + i
            if b is not None and v > b:
                v = b
            return int(v)
        if lo is not None and hi is not None:
            return float(lo + (hi - lo) * ((i % 9) + 1) / 10)
        if lo is not None:
            return float(lo + 0.5 + 0.5 * i)
        if hi is not None:
            return float(hi - 0.5 - 0.5 * i)
        return 0.5 + 0.5 * i

    def spoil(self, s, v, depth=0):
        """Returns a value that does NOT satisfy s (v is a valid value for s, may be changed)."""
        s = self.resolve(s)
        if not isinstance(s, dict) or depth > MAX_DEPTH:
            return {"schemabad": True}
        enum = s.get("enum")
        if "const" in s or (isinstance(enum, list) and enum):
            return "not one of the allowed values %s" % self.tag
        t = self.schema_type(s)
        if t == "object":
            if isinstance(v, dict):
                for r in s.get("required") or ():
                    if r in v:
                        del v[r]
                        return v
                props = s.get("properties")
                if isinstance(props, dict):
                    for k, ps in props.items():
                        if k in v and isinstance(ps, dict) and ps:
                            v[k] = self.spoil(ps, v[k], depth + 1)
                            return v
            return ["not", "an", "object"]
        if t == "array":
            return {"not": "an array"}
        if t == "string":
            return 12345
        if t in ("integer", "number"):
            return "not a number"
        if t == "boolean":
            return "not a boolean"
        return "not null"


# --------------------------------------------------------------------------------------------
# Prompt text

_EXACTLY = re.compile(r"\bexactly\s+(\d+)\b", re.IGNORECASE)
_FENCE = re.compile(r"```[ \t]*(?:json|JSON)?[ \t]*\r?\n(.*?)```", re.DOTALL)


def _looks_like_schema(obj):
    if not isinstance(obj, dict):
        return False
    t = obj.get("type")
    if isinstance(t, str):
        return t in JSON_TYPES
    if isinstance(t, list) and t:
        return all(isinstance(x, str) and x in JSON_TYPES for x in t)
    return False


def find_schema_in_text(text):
    """The first ```json fenced block that is a schema, else the first {...} that parses as one."""
    for m in _FENCE.finditer(text):
        try:
            obj = json.loads(m.group(1))
        except ValueError:
            continue
        if _looks_like_schema(obj):
            return obj
    dec = json.JSONDecoder()
    pos = text.find("{")
    tries = 0
    while pos >= 0 and tries < 500:
        tries += 1
        try:
            obj, _ = dec.raw_decode(text, pos)
        except ValueError:
            obj = None
        if _looks_like_schema(obj):
            return obj
        pos = text.find("{", pos + 1)
    return None


def find_exact_count(last_user, whole):
    """N from the first 'exactly N' in the last user message, else anywhere in the prompt."""
    m = _EXACTLY.search(last_user) or _EXACTLY.search(whole)
    if not m:
        return None
    return min(int(m.group(1)), MAX_ARRAY_LEN)


def _text_of(content):
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for p in content:
            if isinstance(p, str):
                parts.append(p)
            elif isinstance(p, dict):
                if isinstance(p.get("text"), str):
                    parts.append(p["text"])
                elif "content" in p:  # anthropic tool_result
                    parts.append(_text_of(p["content"]))
        return "\n".join(parts)
    return ""


def openai_prefix(messages):
    """The part of an OpenAI prompt the fake caches: the first system message's text, else the
    first message's."""
    first = None
    for m in messages:
        if not isinstance(m, dict):
            continue
        if m.get("role") in ("system", "developer"):
            return _text_of(m.get("content"))
        if first is None:
            first = _text_of(m.get("content"))
    return first or ""


def anthropic_prefix(system):
    """The system text up to and including its last block with cache_control, or None when no
    system block asks for caching."""
    if not isinstance(system, list):
        return None
    last = None
    for i, b in enumerate(system):
        if isinstance(b, dict) and isinstance(b.get("cache_control"), dict):
            last = i
    if last is None:
        return None
    return _text_of(system[:last + 1])


class Prompt:
    __slots__ = ("whole", "last_user", "tag")

    def __init__(self, system, messages):
        texts = [system] if system else []
        last_user = ""
        for m in messages:
            if not isinstance(m, dict):
                continue
            t = _text_of(m.get("content"))
            texts.append(t)
            if m.get("role") == "user":
                last_user = t
        self.whole = "\n".join(texts)
        self.last_user = last_user
        self.tag = short_hash(last_user)

    def plain_answer(self):
        snippet = " ".join(self.last_user.split())[:80]
        return "fake answer %s: %s" % (self.tag, snippet)


# --------------------------------------------------------------------------------------------
# Actions and the two API flavours


class Action:
    """What to do with one request: kind is respond, hang, drop or truncate."""
    __slots__ = ("kind", "status", "headers", "body", "delay")

    def __init__(self, kind, status=200, headers=(), body=b"", delay=0.0):
        self.kind = kind
        self.status = status
        self.headers = headers
        self.body = body
        self.delay = delay


def _redact(value):
    v = value.strip()
    if v.lower().startswith("bearer "):
        return "Bearer ..." + v[7:].strip()[-4:]
    return "..." + v[-4:]


def _mask_key(key):
    return (key[:3] + "*" * max(0, len(key) - 7) + key[-4:]) if len(key) > 7 else "****"


class Flavour:
    """Shared answer logic; subclasses know their wire format."""
    name = ""

    def error(self, status, message, etype=None, param=None, code=None, headers=()):
        raise NotImplementedError

    def key_of(self, headers):
        raise NotImplementedError

    def rate_headers(self, secs):
        return [("retry-after", str(secs)), ("retry-after-ms", str(secs * 1000)),
                ("x-ratelimit-limit-requests", "60"), ("x-ratelimit-remaining-requests", "0"),
                ("x-ratelimit-reset-requests", "%ds" % secs)]


class OpenAI(Flavour):
    name = "openai"

    def error(self, status, message, etype=None, param=None, code=None, headers=()):
        if etype is None:
            etype = {401: "invalid_request_error", 429: "requests", 500: "server_error",
                     529: "server_error", 404: "invalid_request_error"}.get(
                         status, "invalid_request_error")
        body = {"error": {"message": message, "type": etype, "param": param, "code": code}}
        return Action("respond", status, list(headers), _dumps(body))

    def key_of(self, headers):
        auth = headers.get("authorization")
        if auth is None:
            return None
        if not auth.lower().startswith("bearer "):
            return ""
        return auth[7:].strip()

    def auth_error(self, key):
        if key is None:
            return self.error(401, "You didn't provide an API key. You need to provide your API "
                              "key in an Authorization header using Bearer auth (i.e. "
                              "Authorization: Bearer YOUR_KEY).")
        return self.error(401, "Incorrect API key provided: %s. You can find your API key at "
                          "https://platform.openai.com/account/api-keys." % _mask_key(key),
                          code="invalid_api_key")

    def validate(self, body):
        if not isinstance(body.get("model"), str) or not body["model"]:
            return self.error(400, "you must provide a model parameter")
        msgs = body.get("messages")
        if msgs is None:
            return self.error(400, "Missing required parameter: 'messages'.", param="messages",
                              code="missing_required_parameter")
        if not isinstance(msgs, list):
            return self.error(400, "Invalid type for 'messages': expected an array.",
                              param="messages", code="invalid_type")
        if not msgs:
            return self.error(400, "Invalid 'messages': empty array. Expected an array with "
                              "minimum length 1, but got an empty array instead.",
                              param="messages", code="empty_array")
        for i, m in enumerate(msgs):
            if not isinstance(m, dict) or "role" not in m:
                return self.error(400, "Missing required parameter: 'messages[%d].role'." % i,
                                  param="messages[%d].role" % i,
                                  code="missing_required_parameter")
        if body.get("stream"):
            return self.error(400, "stream is not supported by the fake provider", param="stream",
                              code="unsupported_value")
        rf = body.get("response_format")
        if rf is not None:
            if not isinstance(rf, dict) or rf.get("type") not in ("text", "json_object",
                                                                   "json_schema"):
                return self.error(400, "Invalid value: %r. Supported values are: 'json_object', "
                                  "'json_schema', and 'text'." % (
                                      rf.get("type") if isinstance(rf, dict) else rf),
                                  param="response_format.type", code="invalid_value")
            if rf["type"] == "json_schema":
                js = rf.get("json_schema")
                if not isinstance(js, dict):
                    return self.error(400, "Missing required parameter: "
                                      "'response_format.json_schema'.",
                                      param="response_format.json_schema",
                                      code="missing_required_parameter")
                if not isinstance(js.get("name"), str):
                    return self.error(400, "Missing required parameter: "
                                      "'response_format.json_schema.name'.",
                                      param="response_format.json_schema.name",
                                      code="missing_required_parameter")
            if rf["type"] == "json_object":
                if "json" not in "\n".join(_text_of(m.get("content")) for m in msgs).lower():
                    return self.error(400, "'messages' must contain the word 'json' in some "
                                      "form, to use 'response_format' of type 'json_object'.",
                                      param="messages")
        return None

    def too_many_tokens(self, body, most):
        for p in ("max_completion_tokens", "max_tokens"):
            n = body.get(p)
            if isinstance(n, int) and n > most:
                return self.error(400, "%s is too large: %d. This model supports at most %d "
                                  "completion tokens, whereas you provided %d." % (p, n, most, n),
                                  param=p, code="invalid_value")
        return None

    def answer(self, app, body, d, rid):
        msgs = body["messages"]
        prompt = Prompt("", msgs)
        rf = body.get("response_format") or {}
        schema = None
        json_mode = False
        if rf.get("type") == "json_schema":
            schema = rf["json_schema"].get("schema")
            if not isinstance(schema, dict):
                schema = {"type": "object"}
            json_mode = True
        elif rf.get("type") == "json_object":
            json_mode = True
        tool = None
        tools = body.get("tools")
        tc = body.get("tool_choice")
        if isinstance(tools, list) and tools:
            if isinstance(tc, dict) and isinstance(tc.get("function"), dict):
                want = tc["function"].get("name")
                tool = next((t for t in tools if isinstance(t, dict) and
                             (t.get("function") or {}).get("name") == want), None)
                if tool is None:
                    return self.error(400, "Invalid value for 'tool_choice': no function named "
                                      "%r was specified in the 'tools' parameter." % want,
                                      param="tool_choice", code="invalid_value")
            elif tc == "required":
                tool = tools[0] if isinstance(tools[0], dict) else None
        if tool is not None:
            fn = tool.get("function") or {}
            schema = fn.get("parameters") if isinstance(fn.get("parameters"), dict) else {
                "type": "object"}
            value, _ = app.make_value(schema, prompt, d, body.get("model"))
            args = json.dumps(value)
            message = {"role": "assistant", "content": None,
                       "tool_calls": [{"id": "call_%s" % rid, "type": "function",
                                       "function": {"name": fn.get("name"), "arguments": args}}],
                       "refusal": None, "annotations": []}
            finish = "tool_calls"
            out_text = args
        else:
            if schema is None:
                schema = find_schema_in_text(prompt.whole)
            if schema is not None:
                value, _ = app.make_value(schema, prompt, d, body.get("model"))
                content = app.dress_json(json.dumps(value), prompt, d)
            elif json_mode:
                content = app.dress_json(json.dumps({"answer": prompt.plain_answer()}), prompt,
                                         d)
            else:
                content = app.dress_text(prompt.plain_answer(), prompt, d)
            finish = "stop"
            if app.cut_now(body["model"], d):
                content = content[: max(1, len(content) // 2)]
                finish = "length"
            message = {"role": "assistant", "content": content, "refusal": None,
                       "annotations": []}
            if "reasoning_content" in d.flags:
                message["reasoning_content"] = "fake reasoning %s" % prompt.tag
            out_text = content
        pt = _tokens(prompt.whole)
        ct = _tokens(out_text) + (_tokens(message.get("reasoning_content") or ""))
        cached = 0
        prefix = openai_prefix(msgs)
        if d.cache is not None and len(prefix) >= d.cache and app.cache_seen(body["model"],
                                                                            prefix):
            cached = _tokens(prefix)
        resp = {"id": "chatcmpl-%s" % rid, "object": "chat.completion",
                "created": int(time.time()), "model": body["model"],
                "choices": [{"index": 0, "message": message, "logprobs": None,
                             "finish_reason": finish}],
                "usage": {"prompt_tokens": pt, "completion_tokens": ct,
                          "total_tokens": pt + ct,
                          "prompt_tokens_details": {"cached_tokens": cached}},
                "system_fingerprint": "fp_fake"}
        return resp


class Anthropic(Flavour):
    name = "anthropic"

    def error(self, status, message, etype=None, param=None, code=None, headers=()):
        if etype is None:
            etype = {401: "authentication_error", 404: "not_found_error",
                     413: "request_too_large", 429: "rate_limit_error", 500: "api_error",
                     529: "overloaded_error"}.get(status, "invalid_request_error")
        body = {"type": "error", "error": {"type": etype, "message": message}}
        return Action("respond", status, list(headers), _dumps(body))

    def key_of(self, headers):
        return headers.get("x-api-key")

    def auth_error(self, key):
        if key is None:
            return self.error(401, "x-api-key header is required")
        return self.error(401, "invalid x-api-key")

    def rate_headers(self, secs):
        reset = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + secs))
        return super().rate_headers(secs) + [
            ("anthropic-ratelimit-requests-limit", "60"),
            ("anthropic-ratelimit-requests-remaining", "0"),
            ("anthropic-ratelimit-requests-reset", reset)]

    def validate(self, body):
        if not isinstance(body.get("model"), str) or not body["model"]:
            return self.error(400, "model: Field required")
        if "max_tokens" not in body:
            return self.error(400, "max_tokens: Field required")
        mt = body["max_tokens"]
        if not isinstance(mt, int) or isinstance(mt, bool) or mt < 1:
            return self.error(400, "max_tokens: Input should be a valid integer greater than 0")
        msgs = body.get("messages")
        if msgs is None:
            return self.error(400, "messages: Field required")
        if not isinstance(msgs, list) or not msgs:
            return self.error(400, "messages: at least one message is required")
        for i, m in enumerate(msgs):
            if not isinstance(m, dict) or m.get("role") not in ("user", "assistant"):
                return self.error(400, "messages.%d.role: Input should be 'user' or "
                                  "'assistant'" % i)
            if "content" not in m:
                return self.error(400, "messages.%d.content: Field required" % i)
        system = body.get("system")
        if system is not None and not isinstance(system, (str, list)):
            return self.error(400, "system: Input should be a valid string or list")
        if body.get("stream"):
            return self.error(400, "stream: not supported by the fake provider")
        tc = body.get("tool_choice")
        if tc is not None:
            tools = body.get("tools")
            if not isinstance(tc, dict) or tc.get("type") not in ("auto", "any", "tool", "none"):
                return self.error(400, "tool_choice: Input tag does not match any of the "
                                  "expected tags: 'auto', 'any', 'tool', 'none'")
            if tc["type"] in ("any", "tool") and not (isinstance(tools, list) and tools):
                return self.error(400, "tool_choice: tools must be provided when tool_choice "
                                  "is '%s'" % tc["type"])
            if tc["type"] == "tool":
                names = [t.get("name") for t in tools if isinstance(t, dict)]
                if tc.get("name") not in names:
                    return self.error(400, "tool_choice: tool %r was not found in tools"
                                      % tc.get("name"))
        return None

    def too_many_tokens(self, body, most):
        if body["max_tokens"] > most:
            return self.error(400, "max_tokens: %d > %d, which is the maximum allowed number of "
                              "output tokens for %s" % (body["max_tokens"], most, body["model"]))
        return None

    def answer(self, app, body, d, rid):
        prompt = Prompt(_text_of(body.get("system")), body["messages"])
        tools = body.get("tools") or []
        tc = body.get("tool_choice") or {}
        tool = None
        if tc.get("type") == "tool":
            tool = next(t for t in tools if isinstance(t, dict) and t.get("name") == tc["name"])
        elif tc.get("type") == "any":
            tool = next((t for t in tools if isinstance(t, dict)), None)
        content = []
        if "reasoning_content" in d.flags:
            content.append({"type": "thinking", "thinking": "fake reasoning %s" % prompt.tag,
                            "signature": "fake-signature"})
        if tool is not None:
            schema = tool.get("input_schema")
            if not isinstance(schema, dict):
                schema = {"type": "object"}
            value, _ = app.make_value(schema, prompt, d, body["model"])
            content.append({"type": "tool_use", "id": "toolu_%s" % rid, "name": tool.get("name"),
                            "input": value})
            stop = "tool_use"
            out_text = json.dumps(value)
        else:
            schema = find_schema_in_text(prompt.whole)
            if schema is not None:
                value, _ = app.make_value(schema, prompt, d, body["model"])
                text = app.dress_json(json.dumps(value), prompt, d)
            else:
                text = app.dress_text(prompt.plain_answer(), prompt, d)
            stop = "end_turn"
            if app.cut_now(body["model"], d):
                text = text[: max(1, len(text) // 2)]
                stop = "max_tokens"
            content.append({"type": "text", "text": text})
            out_text = text
        it = _tokens(prompt.whole)
        ot = _tokens(out_text)
        written = read = 0
        prefix = anthropic_prefix(body.get("system"))
        if prefix is not None and len(prefix) >= (d.cache or 0):
            if app.cache_seen(body["model"], prefix):
                read = _tokens(prefix)
            else:
                written = _tokens(prefix)
        # like Anthropic's, input_tokens leaves out what was read from or written to the cache
        return {"id": "msg_%s" % rid, "type": "message", "role": "assistant",
                "model": body["model"], "content": content, "stop_reason": stop,
                "stop_sequence": None,
                "usage": {"input_tokens": max(0, it - written - read), "output_tokens": ot,
                          "cache_creation_input_tokens": written,
                          "cache_read_input_tokens": read}}


OPENAI = OpenAI()
ANTHROPIC = Anthropic()
ROUTES = {"/v1/chat/completions": OPENAI, "/chat/completions": OPENAI,
          "/v1/messages": ANTHROPIC, "/messages": ANTHROPIC}


# --------------------------------------------------------------------------------------------
# Counters


class Window:
    """Peak number of events in any sliding window of `span` seconds."""
    __slots__ = ("span", "times", "peak")

    def __init__(self, span):
        self.span = span
        self.times = collections.deque()
        self.peak = 0

    def add(self, t):
        q = self.times
        q.append(t)
        edge = t - self.span
        while q[0] <= edge:
            q.popleft()
        if len(q) > self.peak:
            self.peak = len(q)


class Stat:
    __slots__ = ("requests", "in_flight", "max_in_flight", "minute", "second", "status")

    def __init__(self):
        self.requests = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.minute = Window(60.0)
        self.second = Window(1.0)
        self.status = collections.Counter()

    def begin(self, t):
        self.requests += 1
        self.in_flight += 1
        if self.in_flight > self.max_in_flight:
            self.max_in_flight = self.in_flight
        self.minute.add(t)
        self.second.add(t)

    def reset(self):
        self.requests = 0
        self.max_in_flight = self.in_flight
        self.minute = Window(60.0)
        self.second = Window(1.0)
        self.status = collections.Counter()

    def as_json(self):
        return {"requests": self.requests, "in_flight": self.in_flight,
                "max_in_flight": self.max_in_flight, "max_rpm": self.minute.peak,
                "max_rps": self.second.peak,
                "status": {str(k): v for k, v in sorted(self.status.items())}}


# --------------------------------------------------------------------------------------------
# The application


class Request:
    __slots__ = ("method", "path", "query", "headers", "body", "keep_alive", "stats", "entry",
                 "done")

    def __init__(self, method, target, headers, body, keep_alive):
        self.method = method
        path, _, self.query = target.partition("?")
        self.path = path
        self.headers = headers
        self.body = body
        self.keep_alive = keep_alive
        self.stats = ()
        self.entry = None
        self.done = False


class App:
    def __init__(self, api_keys=(), log=True, log_size=10000):
        self.api_keys = set(api_keys or ())
        self.log_enabled = log
        self.log = collections.deque(maxlen=log_size)
        self.total = Stat()
        self.by_model = {}
        self.calls = collections.Counter()
        self.spoiled = collections.Counter()
        self.cut = collections.Counter()
        self.cached = set()  # (model string, sha1 of a prefix) seen: the prompt cache
        self.seq = 0
        self.connections = 0
        self.max_connections = 0
        self.started = time.time()

    # ---- answers
    def make_value(self, schema, prompt, d, model):
        exact = find_exact_count(prompt.last_user, prompt.whole)
        gen = ValueGen(schema, prompt.tag, exact=exact, count=d.count, dupes="dupes" in d.flags,
                       pick=d.pick)
        value = gen.value(schema, "value", 0)
        spoiled = False
        if d.schemabad:
            n = self.spoiled[model] + 1
            if d.schemabad < 0 or n <= d.schemabad:
                self.spoiled[model] = n
                value = gen.spoil(schema, value)
                spoiled = True
        return value, spoiled

    def cut_now(self, model, d):
        """True when this text answer is to be cut off (the `length` directive)."""
        if not d.length:
            return False
        n = self.cut[model] + 1
        if d.length > 0 and n > d.length:
            return False
        self.cut[model] = n
        return True

    def cache_seen(self, model, prefix):
        """True when prefix was cached for model before; it is cached from now on."""
        key = (model, hashlib.sha1(prefix.encode("utf-8", "surrogatepass")).digest())
        if key in self.cached:
            return True
        if len(self.cached) > 100000:
            self.cached.clear()
        self.cached.add(key)
        return False

    def dress_json(self, text, prompt, d):
        if "fence" in d.flags:
            text = "Here is the JSON you asked for:\n```json\n%s\n```\n" % text
        return self.dress_text(text, prompt, d)

    def dress_text(self, text, prompt, d):
        if "think" in d.flags:
            text = "<think>fake reasoning %s</think>\n%s" % (prompt.tag, text)
        return text

    # ---- dispatch
    def handle(self, req, now):
        """Returns the Action for one request."""
        path = req.path
        if path.startswith("/_"):
            return self.control(req)
        flavour = ROUTES.get(path)
        if flavour is None:
            if path in ("/v1/models", "/models") and req.method == "GET":
                return Action("respond", 200, (), _dumps({"object": "list", "data": [
                    {"id": "fake-model", "object": "model", "created": 0,
                     "owned_by": "fake"}]}))
            fl = ANTHROPIC if "messages" in path else OPENAI
            return fl.error(404, "Unknown request URL: %s %s" % (req.method, path),
                            code="unknown_url")
        if req.method != "POST":
            return flavour.error(405, "Method %s not allowed for %s" % (req.method, path))
        body = None
        try:
            body = json.loads(req.body)
        except ValueError:
            pass
        model = body.get("model") if isinstance(body, dict) else None
        model_key = model if isinstance(model, str) else ""
        st = self.by_model.get(model_key)
        if st is None:
            st = self.by_model[model_key] = Stat()
        req.stats = (self.total, st)
        self.total.begin(now)
        st.begin(now)
        if self.log_enabled:
            hdrs = {k: (_redact(v) if k in KEY_HEADERS else v) for k, v in req.headers.items()}
            entry = {"seq": self.total.requests, "time": time.time(), "method": req.method,
                     "path": path, "model": model, "headers": hdrs,
                     "body": body if len(req.body) <= LOG_BODY_MAX else None,
                     "body_bytes": len(req.body), "status": None}
            req.entry = entry
            self.log.append(entry)
        if self.api_keys:
            key = flavour.key_of(req.headers)
            if key not in self.api_keys:
                return flavour.auth_error(key)
        if flavour is ANTHROPIC and "anthropic-version" not in req.headers:
            return flavour.error(400, "anthropic-version: header is required")
        if not isinstance(body, dict):
            if flavour is OPENAI:
                return flavour.error(400, "We could not parse the JSON body of your request. "
                                     "(HINT: This likely means you aren't using your HTTP "
                                     "library correctly. The OpenAI API expects a JSON payload, "
                                     "but what was sent was not valid JSON.)")
            return flavour.error(400, "There was an issue with the JSON body of the request")
        if not isinstance(model, str) or not model:
            return flavour.validate(body)
        try:
            d = parse_model(model)
        except DirectiveError as exc:
            return flavour.error(400, str(exc), param="model", code="invalid_value")
        act = self.faulted(flavour, req, body, model, d)
        act.delay = d.latency
        return act

    def faulted(self, flavour, req, body, model, d):
        n = self.calls[model] + 1
        self.calls[model] = n
        key = flavour.key_of(req.headers) or ""
        leak = "".join(" (key %s)" % key for _ in range(d.leakkey))
        late = None
        for name, count in d.phases:
            if count is not None and n > count:
                n -= count
                continue
            if name == "drop":
                return Action("drop")
            if name == "hang":
                return Action("hang")
            if name == "fail429":
                msg = ("Rate limit reached for %s on requests per min (RPM): Limit 60, Used 60, "
                       "Requested 1. Please try again in %ds.%s" % (model, d.retry_after, leak))
                return flavour.error(429, msg, code="rate_limit_exceeded",
                                     headers=flavour.rate_headers(d.retry_after))
            if name == "fail529":
                return flavour.error(529, "Overloaded" + leak, etype="overloaded_error")
            if name == "fail500":
                return flavour.error(500, "The server had an error while processing your "
                                     "request. Sorry about that!" + leak)
            if name == "fail503":
                return flavour.error(503, "The service is temporarily unavailable." + leak,
                                     headers=[("retry-after", str(d.retry_after))])
            late = name
            break
        for p in sorted(d.params):
            if p in body:
                if flavour is OPENAI:
                    return flavour.error(400, "Unsupported parameter: '%s' is not supported "
                                         "with this model.%s" % (p, leak), param=p,
                                         code="unsupported_parameter")
                return flavour.error(400, "%s: Extra inputs are not permitted%s" % (p, leak))
        bad = flavour.validate(body)
        if bad is not None:
            return bad
        if d.maxout is not None:
            bad = flavour.too_many_tokens(body, d.maxout)
            if bad is not None:
                return bad
        self.seq += 1
        rid = "fake%020d" % self.seq
        resp = flavour.answer(self, body, d, rid)
        if isinstance(resp, Action):
            return resp
        data = _dumps(resp)
        if late == "badjson":
            return Action("respond", 200, (), b"<html>upstream proxy error: " + data[:40] +
                          b"</html>")
        if late == "truncate":
            return Action("truncate", 200, (), data)
        return Action("respond", 200, (), data)

    def finish(self, req, status):
        if req.done:
            return
        req.done = True
        for st in req.stats:
            st.in_flight -= 1
            st.status[status] += 1
        if req.entry is not None:
            req.entry["status"] = status

    # ---- control API
    def control(self, req):
        path = req.path
        if path == "/_stats" and req.method == "GET":
            out = self.total.as_json()
            out["by_model"] = {k: v.as_json() for k, v in self.by_model.items()}
            out["calls"] = dict(self.calls)
            out["connections"] = self.connections
            out["max_connections"] = self.max_connections
            out["log_size"] = len(self.log)
            out["uptime"] = time.time() - self.started
            return Action("respond", 200, (), _dumps(out))
        if path == "/_reset" and req.method == "POST":
            self.total.reset()
            for k in [k for k, v in self.by_model.items() if v.in_flight == 0]:
                del self.by_model[k]
            for v in self.by_model.values():
                v.reset()
            self.calls.clear()
            self.spoiled.clear()
            self.cut.clear()
            self.cached.clear()
            self.log.clear()
            self.max_connections = self.connections
            return Action("respond", 200, (), b'{"reset":true}')
        if path == "/_requests" and req.method == "GET":
            q = {}
            for part in req.query.split("&"):
                k, _, v = part.partition("=")
                if k:
                    q[k] = unquote_plus(v)
            items = list(self.log)
            if "model" in q:
                items = [e for e in items if e["model"] == q["model"]]
            if "path" in q:
                items = [e for e in items if e["path"] == q["path"]]
            if "limit" in q:
                try:
                    lim = int(q["limit"])
                except ValueError:
                    return Action("respond", 400, (), b'{"error":"limit must be an integer"}')
                items = items[-lim:] if lim > 0 else []
            return Action("respond", 200, (), _dumps({"requests": items}))
        return Action("respond", 404, (), b'{"error":"unknown control endpoint"}')


# --------------------------------------------------------------------------------------------
# HTTP/1.1


def _response_bytes(status, headers, body, keep_alive, content_length=None):
    lines = ["HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n" % (
        status, REASONS.get(status, "Unknown"),
        len(body) if content_length is None else content_length)]
    for k, v in headers:
        lines.append("%s: %s\r\n" % (k, v))
    lines.append("Connection: keep-alive\r\n\r\n" if keep_alive else "Connection: close\r\n\r\n")
    return "".join(lines).encode("latin-1") + body


class Conn(asyncio.Protocol):
    def __init__(self, app, conns):
        self.app = app
        self.conns = conns
        self.transport = None
        self.buf = bytearray()
        self.head = None  # (method, target, headers, clen, body_start, keep_alive)
        self.busy = False
        self.in_loop = False
        self.closed = False
        self.timer = None
        self.req = None

    def connection_made(self, transport):
        self.transport = transport
        self.conns.add(self)
        app = self.app
        app.connections += 1
        if app.connections > app.max_connections:
            app.max_connections = app.connections

    def connection_lost(self, exc):
        self.closed = True
        self.conns.discard(self)
        self.app.connections -= 1
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.req is not None:
            self.app.finish(self.req, 0)
            self.req = None

    def data_received(self, data):
        self.buf += data
        if not self.busy and not self.in_loop:
            self.process()

    def close(self):
        if not self.closed:
            self.closed = True
            self.transport.close()

    def bad(self, status, msg):
        body = _dumps({"error": {"message": msg, "type": "invalid_request_error", "param": None,
                                 "code": None}})
        self.transport.write(_response_bytes(status, (), body, False))
        self.busy = True
        self.close()

    def parse_head(self):
        buf = self.buf
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            if len(buf) > MAX_HEAD:
                self.bad(431, "request head too large")
            return False
        if end > MAX_HEAD:
            self.bad(431, "request head too large")
            return False
        lines = bytes(buf[:end]).decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            self.bad(400, "bad request line")
            return False
        method, target, version = parts
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep or not name or name != name.strip():
                self.bad(400, "bad header line")
                return False
            name = name.lower()
            value = value.strip()
            if name in headers:
                headers[name] += ", " + value
            else:
                headers[name] = value
        if "chunked" in headers.get("transfer-encoding", "").lower():
            self.bad(501, "chunked request bodies are not supported")
            return False
        clen = headers.get("content-length", "0")
        if not clen.isdigit():
            self.bad(400, "bad Content-Length")
            return False
        clen = int(clen)
        if clen > MAX_BODY:
            self.bad(413, "request body too large")
            return False
        conn = headers.get("connection", "").lower()
        if version == "HTTP/1.1":
            keep = "close" not in conn
        else:
            keep = "keep-alive" in conn
        self.head = (method, target, headers, clen, end + 4, keep)
        if clen and len(buf) < end + 4 + clen and \
                headers.get("expect", "").lower() == "100-continue":
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        return True

    def process(self):
        self.in_loop = True
        try:
            while not self.busy and not self.closed:
                if self.head is None and not self.parse_head():
                    return
                method, target, headers, clen, start, keep = self.head
                if len(self.buf) < start + clen:
                    return
                body = bytes(self.buf[start:start + clen])
                del self.buf[:start + clen]
                self.head = None
                req = Request(method, target, headers, body, keep)
                self.busy = True
                self.req = req
                loop = asyncio.get_running_loop()
                try:
                    act = self.app.handle(req, loop.time())
                except Exception:  # a bug in the fake: answer it, do not kill the connection
                    act = Action("respond", 500, (), _dumps({"error": {
                        "message": "fake provider bug: " + traceback.format_exc(),
                        "type": "fake_internal_error", "param": None, "code": None}}))
                if act.kind == "hang":
                    return
                if act.delay > 0:
                    self.timer = loop.call_later(act.delay, self.act, act)
                else:
                    self.act(act)
        finally:
            self.in_loop = False

    def act(self, act):
        self.timer = None
        req = self.req
        self.req = None
        if self.closed:
            return
        if act.kind == "drop":
            self.app.finish(req, 0)
            self.close()
            return
        if act.kind == "truncate":
            self.app.finish(req, act.status)
            body = act.body[: len(act.body) // 2]
            self.transport.write(_response_bytes(act.status, act.headers, body, True,
                                                 content_length=len(act.body)))
            self.close()
            return
        self.app.finish(req, act.status)
        self.transport.write(_response_bytes(act.status, act.headers, act.body, req.keep_alive))
        if not req.keep_alive:
            self.close()
            return
        self.busy = False
        if not self.in_loop and self.buf:
            self.process()


# --------------------------------------------------------------------------------------------
# Entry points


class FakeServer:
    """The fake bound to host:port inside the running event loop."""

    def __init__(self, app):
        self.app = app
        self.conns = set()
        self.server = None
        self.port = None

    async def start(self, host="127.0.0.1", port=0):
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(lambda: Conn(self.app, self.conns), host, port,
                                               backlog=4096, reuse_address=True)
        self.port = self.server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self):
        self.server.close()
        for c in list(self.conns):
            c.close()
        await self.server.wait_closed()


class Handle(NamedTuple):
    host: str
    port: int
    stop: Callable[[], None]

    @property
    def base_url(self):
        return "http://%s:%d" % (self.host, self.port)


def start_in_thread(host="127.0.0.1", port=0, api_keys=(), log=True, log_size=10000):
    """Starts the fake on a daemon thread with its own event loop. Returns Handle(host, port,
    stop); stop() closes every connection and joins the thread."""
    ready = threading.Event()
    box = {}

    def run():
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        srv = FakeServer(App(api_keys, log, log_size))
        try:
            box["port"] = loop.run_until_complete(srv.start(host, port))
        except BaseException as exc:  # reported to the caller
            box["error"] = exc
            ready.set()
            loop.close()
            return
        box["loop"] = loop
        done = asyncio.Event()
        box["done"] = done
        ready.set()
        loop.run_until_complete(done.wait())
        loop.run_until_complete(srv.stop())
        loop.close()

    th = threading.Thread(target=run, name="fake-llm", daemon=True)
    th.start()
    ready.wait()
    if "error" in box:
        raise box["error"]

    def stop():
        if th.is_alive():
            box["loop"].call_soon_threadsafe(box["done"].set)
            th.join()

    return Handle(host, box["port"], stop)


async def _serve(args):
    app = App(args.api_key or (), not args.no_log, args.log_size)
    srv = FakeServer(app)
    port = await srv.start(args.host, args.port)
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, args.port_file)
    if not args.quiet:
        print("fake_llm listening on %s:%d" % (args.host, port), flush=True)
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, done.set)
    await done.wait()
    await srv.stop()


def main(argv=None):
    p = argparse.ArgumentParser(description="Fake OpenAI / Anthropic provider for tests.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port")
    p.add_argument("--port-file", help="write the port here (atomically) once listening")
    p.add_argument("--api-key", action="append",
                   help="accept only this key (repeatable); without it any key is accepted")
    p.add_argument("--no-log", action="store_true", help="do not record requests (benchmarks)")
    p.add_argument("--log-size", type=int, default=10000, help="requests kept for /_requests")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    asyncio.run(_serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
