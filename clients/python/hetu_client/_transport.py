# SPDX-License-Identifier: MIT
"""HTTP transport shared by the clients: JSON requests and streamed multipart uploads over
urllib, with the Authorization header on every call and errors turned into HetuAPIError.

JSON bodies are UTF-8 with raw (not \\u-escaped) characters. A file upload is sent with an exact
Content-Length and read from disk in blocks while it is sent, so the file is never held in
memory."""

import json
import mimetypes
import os
import socket
import urllib.error
import urllib.parse
import urllib.request
import uuid

from .errors import HetuAPIError, HetuConnectionError

__all__ = ["Transport", "DEFAULT_TIMEOUT"]

DEFAULT_TIMEOUT = 300.0  # seconds; generation with a large model can take minutes
USER_AGENT = "hetu-client/0.1 (Python urllib)"
BLOCK = 64 * 1024


def _query_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return ">>>>>".join(str(x) for x in v)
    return str(v)


def build_query(params):
    """urlencoded query from a mapping; None values are left out, booleans are true/false and
    lists (topic paths) are joined with '>>>>>'."""
    if not params:
        return ""
    pairs = [(k, _query_value(v)) for k, v in params.items() if v is not None]
    return urllib.parse.urlencode(pairs, quote_via=urllib.parse.quote) if pairs else ""


def _header_param(value):
    """A filename for Content-Disposition the way browsers (and urllib3) write it: raw UTF-8,
    with quotes, backslashes and control characters escaped."""
    out = []
    for ch in value:
        if ch == '"':
            out.append("%22")
        elif ch == "\\":
            out.append("\\\\")
        elif ord(ch) < 0x20 and ch != "\x1b":
            out.append("%%%02X" % ord(ch))
        else:
            out.append(ch)
    return "".join(out)


class _MultipartFile:
    """A read()-able multipart/form-data body: head, the file's bytes read from disk in blocks,
    tail. ``length`` is exact, so the request goes out with a Content-Length."""

    def __init__(self, path, field="file", filename=None, content_type=None):
        self.path = os.fspath(path)
        name = filename if filename is not None else os.path.basename(self.path)
        if content_type is None:
            content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        self.boundary = "hetu-" + uuid.uuid4().hex
        self.head = ("--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\n"
                     "Content-Type: %s\r\n\r\n" % (self.boundary, field, _header_param(name),
                                                   content_type)).encode("utf-8")
        self.tail = ("\r\n--%s--\r\n" % self.boundary).encode("ascii")
        self.file = open(self.path, "rb")
        self.size = os.fstat(self.file.fileno()).st_size
        self.length = len(self.head) + self.size + len(self.tail)
        self.content_type = "multipart/form-data; boundary=" + self.boundary
        self._stage = 0  # 0 head, 1 file, 2 tail, 3 done
        self._left = self.size

    def read(self, n=-1):
        if n is None or n < 0:
            n = BLOCK
        while self._stage < 3:
            if self._stage == 0:
                self._stage = 1
                return self.head
            if self._stage == 1:
                if self._left > 0:
                    block = self.file.read(min(n, self._left))
                    if not block:
                        raise HetuAPIError("%s shrank while it was being uploaded" % self.path)
                    self._left -= len(block)
                    return block
                self._stage = 2
                continue
            self._stage = 3
            return self.tail
        return b""

    def close(self):
        self.file.close()


class Transport:
    def __init__(self, base_url, api_key=None, timeout=DEFAULT_TIMEOUT):
        self.base_url = (base_url or "http://localhost:8000").rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self._opener = urllib.request.build_opener()

    def url(self, path, params=None):
        q = build_query(params)
        return self.base_url + path + ("?" + q if q else "")

    def _headers(self, extra=None):
        h = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if self.api_key:
            h["Authorization"] = "Bearer %s" % self.api_key
        if extra:
            h.update(extra)
        return h

    def request(self, method, path, body=None, params=None, timeout=None):
        """Sends ``body`` (any JSON value, or None for no body) and returns the parsed JSON
        answer."""
        data = None
        extra = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            extra = {"Content-Type": "application/json; charset=utf-8"}
        return self._send(method, self.url(path, params), data, self._headers(extra), timeout)

    def upload(self, path, file_path, params=None, field="file", timeout=None):
        """POSTs ``file_path`` as the multipart part ``field`` and returns the parsed answer."""
        part = _MultipartFile(file_path, field=field)
        try:
            headers = self._headers({"Content-Type": part.content_type,
                                     "Content-Length": str(part.length)})
            return self._send("POST", self.url(path, params), part, headers, timeout)
        finally:
            part.close()

    def _send(self, method, url, data, headers, timeout):
        req = urllib.request.Request(url, data=data, headers=headers, method=method)
        t = self.timeout if timeout is None else timeout
        try:
            with self._opener.open(req, timeout=t) as resp:
                raw = resp.read()
                status = resp.status
        except urllib.error.HTTPError as exc:
            try:
                raw = exc.read()
            except (OSError, ValueError):
                raw = b""
            finally:
                exc.close()
            raise self._api_error(method, url, exc.code, raw) from None
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, (socket.timeout, TimeoutError)):
                msg = "no answer from %s within %s s" % (self.base_url, t)
            else:
                msg = "cannot reach the Hetu server at %s: %s" % (self.base_url, reason)
            raise HetuConnectionError(msg, method=method, url=url) from exc
        except (socket.timeout, TimeoutError) as exc:
            raise HetuConnectionError("no answer from %s within %s s" % (self.base_url, t),
                                      method=method, url=url) from exc
        except OSError as exc:  # reset, broken pipe while sending
            raise HetuConnectionError("connection to %s failed: %s" % (self.base_url, exc),
                                      method=method, url=url) from exc
        if not raw:
            return None
        try:
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise HetuAPIError("%s %s answered %d with a body that is not JSON: %s"
                               % (method, url, status, _text(raw)), status=status,
                               detail=_text(raw), body=_text(raw), method=method, url=url) from None

    @staticmethod
    def _api_error(method, url, status, raw):
        text = _text(raw)
        body, detail, code, field = text, None, None, None
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            pass
        if isinstance(body, dict):
            d = body.get("detail")
            if isinstance(d, str):
                detail = d
            elif d is not None:  # e.g. a list of validation errors
                detail = json.dumps(d, ensure_ascii=False)
            code = body.get("code") if isinstance(body.get("code"), str) else None
            field = body.get("field") if isinstance(body.get("field"), str) else None
        if detail is None:
            detail = text.strip() or "HTTP %d with an empty body" % status
        msg = "%s (HTTP %d)" % (detail, status)
        return HetuAPIError(msg, status=status, detail=detail, code=code, field=field, body=body,
                            method=method, url=url)


def _text(raw, limit=2000):
    s = raw.decode("utf-8", "replace")
    return s if len(s) <= limit else s[:limit] + "..."
