# SPDX-License-Identifier: MIT
"""What an adversarial client tried and must not get: invalid UTF-8 stored through a JSON body
(each form the standard forbids), so that every later listing would be undecodable."""

import json

import pytest

from hetu_http import assert_error

# Each value is the raw bytes of a JSON string's content, and the column (in characters) where
# the first bad byte stands inside b'{"name": "ok' + bad + b'"}'.
BAD_UTF8 = [
    pytest.param(b"\xc0\x80", id="overlong-nul"),
    pytest.param(b"\xed\xa0\x80", id="surrogate-d800"),
    pytest.param(b"\xed\xbf\xbf", id="surrogate-dfff"),
    pytest.param(b"\xf4\x90\x80\x80", id="above-10ffff"),
    pytest.param(b"\xe0\x80\x80", id="overlong-three-byte"),
    pytest.param(b"\xff", id="ff"),
]


@pytest.mark.parametrize("bad", BAD_UTF8)
def test_invalid_utf8_in_json_string_is_400_and_nothing_stored(client, bad):
    before = client.get("/api/projects")
    assert before.status == 200
    body = b'{"description": "d",\n "name": "ok' + bad + b'"}'
    r = client.post("/api/project", body)
    assert_error(r, 400, "bad_json", mentions=["line 2 column 13", "invalid UTF-8"])
    after = client.get("/api/projects")
    assert after.status == 200
    # every byte of the listing decodes, and no project was added
    assert json.loads(after.raw.decode("utf-8", "strict")) == json.loads(before.raw.decode("utf-8"))


@pytest.mark.parametrize("bad", BAD_UTF8)
def test_invalid_utf8_in_a_sample_is_400(client, bad):
    p = client.new_project(name="utf8")
    t = client.new_task(p["id"])
    path = "/api/dataset/projects/%s/tasks/%s/save_sample" % (p["id"], t["id"])
    raw = b'{"input": "q", "output": "a' + bad + b'", "topic_path": []}'
    assert_error(client.post(path, raw), 400, "bad_json",
                 mentions=["line 1 column 28", "invalid UTF-8"])


def test_valid_edge_code_points_are_stored(client):
    # the last code point, the neighbours of the surrogate range, a four-byte emoji
    name = "\U0010ffff\ud7ff\ue000\U0001f600中文"
    r = client.post("/api/project", {"name": name})
    assert r.status == 200, r
    got = client.get("/api/projects/%s" % r.json()["id"]).json()
    assert got["name"] == name
