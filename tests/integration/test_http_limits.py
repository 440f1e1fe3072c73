# SPDX-License-Identifier: MIT
"""Body limits at their edge: a body of exactly the limit is read and answered, one byte more is
a 413, whether its length is announced (Content-Length) or not (chunked). JSON bodies are held to
--max-body-size, file uploads to --max-upload-size (every route takes the server's limits)."""

import json
import uuid

import pytest

from hetu_http import Response, assert_error

JSON_LIMIT = 1024
UPLOAD_LIMIT = 4096
MODES = ["content-length", "chunked"]


def send(srv, path, data, headers, mode):
    """POSTs data as it is: with Content-Length, or chunked in pieces of 100 bytes."""
    conn = srv.client.connection()
    try:
        if mode == "chunked":
            pieces = [data[i:i + 100] for i in range(0, len(data), 100)]
            conn.request("POST", path, body=iter(pieces), encode_chunked=True,
                         headers=dict(headers, **{"Transfer-Encoding": "chunked"}))
        else:
            conn.request("POST", path, body=data,
                         headers=dict(headers, **{"Content-Length": str(len(data))}))
        r = conn.getresponse()
        return Response(r.status, r.headers, r.read())
    finally:
        conn.close()


def project_body(size):
    """A POST /api/project body of exactly size bytes."""
    pad = size - len(json.dumps({"name": "edge", "description": ""}).encode())
    data = json.dumps({"name": "edge", "description": "d" * pad}).encode()
    assert len(data) == size
    return data, pad


def upload_body(size):
    """A multipart/form-data body of exactly size bytes holding a one-row CSV file."""
    boundary = "hetu-" + uuid.uuid4().hex
    head = ('--%s\r\nContent-Disposition: form-data; name="file"; filename="edge.csv"\r\n'
            'Content-Type: application/octet-stream\r\n\r\n' % boundary).encode()
    tail = ("\r\n--%s--\r\n" % boundary).encode()
    csv_start, csv_end = b"input,output\nedge,", b"\n"
    pad = size - len(head) - len(tail) - len(csv_start) - len(csv_end)
    data = head + csv_start + b"x" * pad + csv_end + tail
    assert len(data) == size
    return data, {"Content-Type": "multipart/form-data; boundary=%s" % boundary}


@pytest.fixture
def json_srv(start_server):
    return start_server(args=["--max-body-size", str(JSON_LIMIT)])


@pytest.mark.parametrize("mode", MODES)
def test_json_body_of_exactly_the_limit_is_read(json_srv, mode):
    data, pad = project_body(JSON_LIMIT)
    r = send(json_srv, "/api/project", data, {"Content-Type": "application/json"}, mode)
    assert r.status == 200, r
    assert r.json()["description"] == "d" * pad
    projects = json_srv.client.ok("GET", "/api/projects")["projects"]
    assert [p["description"] for p in projects] == ["d" * pad]


@pytest.mark.parametrize("mode", MODES)
def test_json_body_one_byte_over_the_limit_is_413(json_srv, mode):
    data, _ = project_body(JSON_LIMIT + 1)
    r = send(json_srv, "/api/project", data, {"Content-Type": "application/json"}, mode)
    # announced too large, it is refused before it is read; chunked, once it passes the limit
    detail = {"content-length": "request body too large: %d bytes, the limit is %d bytes"
              % (JSON_LIMIT + 1, JSON_LIMIT),
              "chunked": "request body too large: the limit is %d bytes" % JSON_LIMIT}[mode]
    assert assert_error(r, 413, "too_large")["detail"] == detail
    assert json_srv.client.ok("GET", "/api/projects")["projects"] == []


@pytest.fixture
def upload_srv(start_server):
    srv = start_server(args=["--max-upload-size", str(UPLOAD_LIMIT)])
    c = srv.client
    p = c.new_project()
    t = c.new_task(p["id"])
    srv.edge_path = "/api/dataset/projects/%s/tasks/%s/" % (p["id"], t["id"])
    return srv


def stored_outputs(srv):
    runs = srv.client.ok("GET", srv.edge_path.replace("/dataset", "", 1) + "runs")["runs"]
    return [x["output"]["output"] for x in runs]


@pytest.mark.parametrize("mode", MODES)
def test_upload_of_exactly_the_limit_is_imported(upload_srv, mode):
    data, headers = upload_body(UPLOAD_LIMIT)
    r = send(upload_srv, upload_srv.edge_path + "import_samples_from_file", data, headers, mode)
    assert r.status == 200, r
    assert r.json()["status"] == "import_completed"
    assert r.json()["sample_count"] == 1
    outputs = stored_outputs(upload_srv)
    assert len(outputs) == 1 and set(outputs[0]) == {"x"}


@pytest.mark.parametrize("mode", MODES)
def test_upload_one_byte_over_the_limit_is_413(upload_srv, mode):
    data, headers = upload_body(UPLOAD_LIMIT + 1)
    r = send(upload_srv, upload_srv.edge_path + "import_samples_from_file", data, headers, mode)
    detail = {"content-length": "request body too large: %d bytes, the limit is %d bytes"
              % (UPLOAD_LIMIT + 1, UPLOAD_LIMIT),
              "chunked": "upload too large: the limit is %d bytes" % UPLOAD_LIMIT}[mode]
    assert assert_error(r, 413, "too_large")["detail"] == detail
    assert stored_outputs(upload_srv) == []
