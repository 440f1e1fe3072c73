-- wrk load script for the fake provider: POSTs one OpenAI chat completion per request.
-- Usage: wrk -t2 -c1000 -d10s --timeout 10s -s tests/fake/bench_wrk.lua http://127.0.0.1:PORT
-- Set FAKE_MODEL to choose directives, e.g. FAKE_MODEL='bench+latency=200'.
local model = os.getenv("FAKE_MODEL") or "bench+latency=200"
wrk.method = "POST"
wrk.path = "/v1/chat/completions"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-bench"
wrk.body = '{"model":"' .. model .. '","messages":[{"role":"system","content":"You are terse."},' ..
  '{"role":"user","content":"Name exactly 3 colours."}],' ..
  '"response_format":{"type":"json_schema","json_schema":{"name":"colours","strict":true,' ..
  '"schema":{"type":"object","properties":{"colours":{"type":"array","items":{"type":"string"}}},' ..
  '"required":["colours"],"additionalProperties":false}}}}'

done = function(summary, latency, requests)
  io.write(string.format("requests/s: %.0f  errors: connect %d read %d write %d status %d timeout %d\n",
    summary.requests / (summary.duration / 1e6), summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.status, summary.errors.timeout))
end
