# SPDX-License-Identifier: MIT
"""The gateway's public finetune client (HetuAIFinetuneClient in ivan-xin/hetu-ai-client,
src/finetune/test_finetune_api.py) against Hetu: create_dataset_split, get_dataset_splits and
download_dataset_jsonl with the values its own script uses.

The published client is not part of this repository. With HETU_GATEWAY_CLIENT set to a checkout's
src/ directory, the tests run that file unchanged; they always run GatewayCalls, which makes the
same HTTP requests the published client makes through `requests` (same URLs, method, headers, JSON
body as requests encodes it, query parameters; success is status 200 exactly and the answer's
JSON, failure raises with `detail`), with the standard library."""

import importlib
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request

import pytest

from hetu_http import assert_id


class GatewayCalls:
    """The requests HetuAIFinetuneClient sends, call for call."""

    def __init__(self, base_url="http://localhost:8000", api_key=None):
        self.base_url = base_url
        self.headers = {"Content-Type": "application/json"}
        if api_key:
            self.headers["Authorization"] = "Bearer %s" % api_key

    def _call(self, method, url, what, body=None, params=None, raw=False):
        if params:
            url += "?" + urllib.parse.urlencode(params)
        data = json.dumps(body).encode("utf-8") if body is not None else None
        req = urllib.request.Request(url, data=data, method=method, headers=self.headers)
        try:
            with urllib.request.urlopen(req) as r:
                status, content = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, content = e.code, e.read()
        if status == 200:
            return content if raw else json.loads(content)
        raise Exception("%s: %s" % (what, json.loads(content).get("detail", "Unknown error")))

    def get_dataset_splits(self, project_id, task_id):
        url = "%s/api/finetune/projects/%s/tasks/%s/dataset_splits" % (
            self.base_url, project_id, task_id)
        return self._call("GET", url, "get_dataset_splits")

    def create_dataset_split(self, project_id, task_id, request_data):
        url = "%s/api/finetune/projects/%s/tasks/%s/dataset_splits" % (
            self.base_url, project_id, task_id)
        return self._call("POST", url, "create_dataset_split", body=request_data)

    def download_dataset_jsonl(self, project_id, task_id, dataset_id, split_name, format_type,
                               data_strategy, system_message_generator=None,
                               custom_system_message=None, custom_thinking_instructions=None):
        url = "%s/api/finetune/download_dataset_jsonl" % self.base_url
        params = {"project_id": project_id, "task_id": task_id, "dataset_id": dataset_id,
                  "split_name": split_name, "format_type": format_type,
                  "data_strategy": data_strategy}
        if system_message_generator:
            params["system_message_generator"] = system_message_generator
        if custom_system_message:
            params["custom_system_message"] = custom_system_message
        if custom_thinking_instructions:
            params["custom_thinking_instructions"] = custom_thinking_instructions
        return self._call("GET", url, "download_dataset_jsonl", params=params, raw=True)


def published_client():
    src = os.environ.get("HETU_GATEWAY_CLIENT")
    if not src:
        return None
    pytest.importorskip("requests")
    if src not in sys.path:
        sys.path.insert(0, src)
    return importlib.import_module("finetune.test_finetune_api").HetuAIFinetuneClient


CLIENTS = ["calls", "published"]


@pytest.fixture(params=CLIENTS)
def finetune_client(request, server):
    if request.param == "published":
        cls = published_client()
        if cls is None:
            pytest.skip("HETU_GATEWAY_CLIENT (a hetu-ai-client checkout's src/) is not set")
    else:
        cls = GatewayCalls
    return cls(base_url=server.client.base_url)


@pytest.fixture
def task_with_runs(client):
    p = client.new_project()
    t = client.new_task(p["id"])
    r = client.post("/api/dataset/projects/%s/tasks/%s/save_samples_batch" % (p["id"], t["id"]),
                    {"samples": [{"input": "句子 %d" % i, "output": "sentence %d" % i}
                                 for i in range(20)]})
    assert r.status == 200, r
    return p["id"], t["id"], {run["id"]: run for run in r.json()}


def test_create_and_list_splits(finetune_client, task_with_runs):
    pid, tid, runs = task_with_runs
    assert finetune_client.get_dataset_splits(pid, tid) == []
    # the values of the client's own script
    split = finetune_client.create_dataset_split(pid, tid, {
        "name": "Test Split 2", "dataset_split_type": "train_test", "filter_id": "all",
        "description": "Test description"})
    assert_id(split["id"])
    assert split["name"] == "Test Split 2" and split["description"] == "Test description"
    assert split["model_type"] == "dataset_split" and split["filter"] == "all"
    assert [len(split["split_contents"][n]) for n in ("train", "test")] == [16, 4]
    assert sorted(split["split_contents"]["train"] + split["split_contents"]["test"]) == \
        sorted(runs)
    high = finetune_client.create_dataset_split(pid, tid, {
        "name": "Test Split", "dataset_split_type": "train_test", "filter_id": "high_rating",
        "description": "Test description"})
    assert high["split_contents"] == {"train": [], "test": []}  # nothing is rated
    assert finetune_client.get_dataset_splits(pid, tid) == [split, high]
    with pytest.raises(Exception) as err:
        finetune_client.create_dataset_split(pid, tid, {"dataset_split_type": "train_test",
                                                        "filter_id": "newest"})
    assert "filter_id" in str(err.value)


def test_download_split(finetune_client, task_with_runs):
    pid, tid, runs = task_with_runs
    split = finetune_client.create_dataset_split(pid, tid, {
        "name": "Test Split 2", "dataset_split_type": "train_test", "filter_id": "all",
        "description": "Test description"})
    # the client's script passes its system message as the 7th argument, the generator's place
    data = finetune_client.download_dataset_jsonl(pid, tid, split["id"], "train",
                                                  "openai_chat_jsonl", "final_only", None,
                                                  "your are a ai teacher")
    lines = data.decode("utf-8").splitlines()
    train = split["split_contents"]["train"]
    assert len(lines) == len(train)
    for line, run_id in zip(lines, train):  # in the split's order, as Kiln writes it
        assert json.loads(line) == {"messages": [
            {"role": "system", "content": "your are a ai teacher"},
            {"role": "user", "content": runs[run_id]["input"]},
            {"role": "assistant", "content": runs[run_id]["output"]["output"]}]}
        assert "句子" in line, "non-ASCII text is written raw"
