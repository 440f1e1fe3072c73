-- SPDX-License-Identifier: MIT
-- POST /api/project with a small JSON body (the path comes from the URL given to wrk).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"name": "基准项目 bench project", "description": "a project created by the http benchmark"}'
