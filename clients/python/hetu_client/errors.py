# SPDX-License-Identifier: MIT
"""Exceptions raised by the Hetu clients.

Every failure is a HetuAPIError, so one ``except`` clause covers them all. ``str(exc)`` always
contains the server's ``detail`` (or the raw body text when the answer was not JSON), which is
what scripts written for the gateway print. HetuConnectionError means no answer came at all
(refused, unreachable, timed out); HetuJobTimeout means wait_for_job gave up before the job
finished."""


class HetuAPIError(Exception):
    """A request failed. ``status`` is the HTTP status (None when there was no answer),
    ``detail`` the server's one-line message, ``code`` and ``field`` the server's error code and
    offending field when it gave them, ``body`` the parsed error body (or its text), and
    ``method``/``url`` the request."""

    def __init__(self, message, status=None, detail=None, code=None, field=None, body=None,
                 method=None, url=None):
        super().__init__(message)
        self.status = status
        self.detail = detail if detail is not None else message
        self.code = code
        self.field = field
        self.body = body
        self.method = method
        self.url = url


class HetuConnectionError(HetuAPIError):
    """The server could not be reached or did not answer in time (``status`` is None)."""


class HetuJobTimeout(HetuAPIError):
    """wait_for_job's timeout passed before the job reached a final status; ``job`` is the last
    Job seen."""

    def __init__(self, message, job=None, **kw):
        super().__init__(message, **kw)
        self.job = job
