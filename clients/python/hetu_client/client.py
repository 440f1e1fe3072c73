# SPDX-License-Identifier: MIT
"""The Hetu clients: HetuAIDataGenClient (the gateway's data-generation client, method for
method, plus jobs, samples and the topic tree), HetuAIClient (projects) and HetuAITaskClient
(tasks).

Every method returns the server's parsed JSON and raises HetuAPIError (whose message holds the
server's ``detail``) on failure, HetuConnectionError when the server cannot be reached. The
``Authorization: Bearer <api_key>`` header goes with every request when a key is given."""

import time
import urllib.parse

from ._transport import DEFAULT_TIMEOUT, Transport
from .errors import HetuJobTimeout

__all__ = ["HetuAIDataGenClient", "HetuAIClient", "HetuAITaskClient", "FINAL_JOB_STATUSES"]

FINAL_JOB_STATUSES = frozenset({"completed", "completed_with_errors", "failed", "cancelled"})


def _seg(value):
    """One path segment: ids are quoted so that no value can change the path."""
    return urllib.parse.quote(str(value), safe="")


class _Base:
    def __init__(self, base_url="http://localhost:8000", api_key=None, timeout=DEFAULT_TIMEOUT):
        self._t = Transport(base_url, api_key=api_key, timeout=timeout)

    @property
    def base_url(self):
        return self._t.base_url

    @property
    def api_key(self):
        return self._t.api_key

    @property
    def timeout(self):
        return self._t.timeout

    @timeout.setter
    def timeout(self, value):
        self._t.timeout = value

    def __repr__(self):
        return "%s(base_url=%r)" % (type(self).__name__, self._t.base_url)


class HetuAIDataGenClient(_Base):
    """Topic trees, sample generation, saving and importing samples, jobs, and reading samples.

    ``timeout`` (seconds, default 300; None waits forever) bounds each request."""

    def _dataset(self, project_id, task_id, tail):
        return "/api/dataset/projects/%s/tasks/%s/%s" % (_seg(project_id), _seg(task_id), tail)

    # ---- the gateway's six methods

    def generate_categories(self, project_id, task_id, input_data):
        """Subtopics of a topic-tree node; answers an unsaved TaskRun whose output.output is the
        JSON text {"subtopics": [...]}."""
        return self._t.request("POST", self._dataset(project_id, task_id, "generate_categories"),
                               input_data)

    def generate_samples(self, project_id, task_id, input_data):
        """Task inputs for a topic; answers an unsaved TaskRun whose output.output is the JSON
        text {"generated_samples": [...]}."""
        return self._t.request("POST", self._dataset(project_id, task_id, "generate_samples"),
                               input_data)

    def save_sample(self, project_id, task_id, sample_data, session_id=None):
        """Saves one sample (running the task on its input when it has no output); answers the
        saved TaskRun."""
        return self._t.request("POST", self._dataset(project_id, task_id, "save_sample"),
                               sample_data, params={"session_id": session_id})

    def save_samples_batch(self, project_id, task_id, batch_data):
        """Saves {"samples": [...]} concurrently; answers the list of saved TaskRuns."""
        return self._t.request("POST", self._dataset(project_id, task_id, "save_samples_batch"),
                               batch_data)

    def import_samples_async(self, project_id, task_id, batch_data):
        """Starts a background import of {"samples": [...]}; answers {"status":
        "import_started", "sample_count", "message", "job_id"}."""
        return self._t.request("POST",
                               self._dataset(project_id, task_id, "import_samples_async"),
                               batch_data)

    def import_samples_from_file(self, project_id, task_id, file_path, request_data):
        """Uploads a .csv or .jsonl file (streamed from disk) with request_data (prompt_method,
        input/output model names and providers, session_id) as query parameters; answers
        {"status": "import_completed" | "import_started", "sample_count", "message"[, "job_id"]}.
        """
        return self._t.upload(self._dataset(project_id, task_id, "import_samples_from_file"),
                              file_path, params=dict(request_data or {}))

    # ---- jobs

    def list_jobs(self, project_id, task_id):
        """The task's jobs, as a list of Job objects."""
        body = self._t.request("GET", self._dataset(project_id, task_id, "jobs"))
        return body.get("jobs", []) if isinstance(body, dict) else body

    def get_job(self, project_id, task_id, job_id):
        return self._t.request("GET", self._dataset(project_id, task_id, "jobs/" + _seg(job_id)))

    def cancel_job(self, project_id, task_id, job_id):
        return self._t.request("POST", self._dataset(project_id, task_id,
                                                     "jobs/%s/cancel" % _seg(job_id)))

    def wait_for_job(self, project_id, task_id, job_id, on_progress=None, timeout=None,
                     poll_interval=0.5):
        """Polls the job until its status is final (completed, completed_with_errors, failed,
        cancelled) and returns that last Job. ``on_progress(job)`` is called with the first Job
        seen and again whenever its status or counts change. Raises HetuJobTimeout (carrying the
        last Job) when ``timeout`` seconds pass first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        last_key = None
        while True:
            job = self.get_job(project_id, task_id, job_id)
            key = tuple(job.get(k) for k in ("status", "total", "completed", "failed"))
            if on_progress is not None and key != last_key:
                on_progress(job)
            last_key = key
            if job.get("status") in FINAL_JOB_STATUSES:
                return job
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                raise HetuJobTimeout("job %s still %s after %s s (%s of %s done)"
                                     % (job_id, job.get("status"), timeout, job.get("completed"),
                                        job.get("total")), job=job)
            pause = poll_interval if deadline is None else min(poll_interval, deadline - now)
            time.sleep(max(pause, 0))

    # ---- samples and topics

    def list_runs(self, project_id, task_id, **filters):
        """Yields the task's saved samples, page after page (following next_cursor). Filters:
        topic_path (string or list), session_id, tag, rating, source; limit sets the page
        size."""
        path = "/api/projects/%s/tasks/%s/runs" % (_seg(project_id), _seg(task_id))
        params = dict(filters)
        params.pop("cursor", None)
        cursor = None
        while True:
            params["cursor"] = cursor
            page = self._t.request("GET", path, params=params)
            for run in page.get("runs", []):
                yield run
            cursor = page.get("next_cursor")
            if not cursor:
                return

    def get_run(self, project_id, task_id, run_id):
        return self._t.request("GET", "/api/projects/%s/tasks/%s/runs/%s"
                               % (_seg(project_id), _seg(task_id), _seg(run_id)))

    def get_topics(self, project_id, task_id):
        """The task's topic tree with sample counts."""
        return self._t.request("GET", self._dataset(project_id, task_id, "topics"))


class HetuAIClient(_Base):
    """Projects."""

    def create_project(self, name, description=""):
        return self._t.request("POST", "/api/project", {"name": name, "description": description})

    def get_projects(self):
        """All projects, as a list."""
        body = self._t.request("GET", "/api/projects")
        return body.get("projects", []) if isinstance(body, dict) else body

    def get_project(self, project_id):
        return self._t.request("GET", "/api/projects/" + _seg(project_id))

    def update_project(self, project_id, fields=None, **kw):
        """Changes name and/or description: update_project(pid, name="x") or
        update_project(pid, {"name": "x"})."""
        body = dict(fields or {})
        body.update(kw)
        return self._t.request("PATCH", "/api/projects/" + _seg(project_id), body)

    def delete_project(self, project_id):
        return self._t.request("DELETE", "/api/projects/" + _seg(project_id))


class HetuAITaskClient(_Base):
    """Tasks of a project."""

    def create_task(self, project_id, task_data):
        return self._t.request("POST", "/api/projects/%s/task" % _seg(project_id), task_data)

    def get_tasks(self, project_id):
        """The project's tasks, as a list."""
        return self._t.request("GET", "/api/projects/%s/tasks" % _seg(project_id))

    def get_task(self, project_id, task_id):
        return self._t.request("GET", "/api/projects/%s/tasks/%s"
                               % (_seg(project_id), _seg(task_id)))

    def update_task(self, project_id, task_id, task_data=None, **fields):
        """Changes task fields: update_task(pid, tid, {"name": "x"}) or
        update_task(pid, tid, name="x")."""
        body = dict(task_data or {})
        body.update(fields)
        return self._t.request("PATCH", "/api/projects/%s/task/%s"
                               % (_seg(project_id), _seg(task_id)), body)

    def delete_task(self, project_id, task_id):
        return self._t.request("DELETE", "/api/projects/%s/task/%s"
                               % (_seg(project_id), _seg(task_id)))
