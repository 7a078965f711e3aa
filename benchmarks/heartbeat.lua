-- wrk script of benchmarks/bench_learning.py: study heartbeats as learning/static/learning/study.js
-- posts them, or the bare view over the same connections with the same cookies.
--
--   wrk -t THREADS -c CONNECTIONS -d SECONDS -s heartbeat.lua URL -- MODE CLIENTS THREADS ORIGIN
--
-- MODE: "heartbeat" (POST /learning/study/heartbeat/) or "bare" (GET /healthz).
-- CLIENTS: one trainee a line, TAB-separated: cookie header, CSRF token, study token, the last
-- sequence number the server stored. Each wrk thread takes every THREADS-th line and sends its
-- trainees in turn, each with rising sequence numbers (a repeated one would be a cheap replay).
-- The answers are checked by wrk's own count of non-2xx responses (the view answers 200 only when
-- the heartbeat was accepted) and by bench_learning.py against the sequence numbers stored.

local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

local mode, origin
local mine, seq, next_index = {}, {}, 1

function init(args)
  mode, origin = args[1], args[4]
  local threads = tonumber(args[3])
  local n = 0
  for line in io.lines(args[2]) do
    if n % threads == id then
      local cookie, csrf, token, last = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)$")
      mine[#mine + 1] = {cookie = cookie, csrf = csrf, token = token}
      seq[#mine] = tonumber(last)
    end
    n = n + 1
  end
  if #mine == 0 then
    error("no trainee for thread " .. id)
  end
end

function request()
  local i = next_index
  next_index = next_index % #mine + 1
  local client = mine[i]
  if mode == "bare" then
    return wrk.format("GET", "/healthz", {["Cookie"] = client.cookie})
  end
  seq[i] = seq[i] + 1
  -- The page's body: a lesson without video reports no played ranges.
  local body = '{"token": "' .. client.token .. '", "seq": ' .. seq[i] .. ', "state": "active", "played": []}'
  return wrk.format("POST", "/learning/study/heartbeat/", {
    ["Cookie"] = client.cookie,
    ["X-CSRFToken"] = client.csrf,
    ["X-Requested-With"] = "fetch",
    ["Origin"] = origin,
    ["Content-Type"] = "application/json",
  }, body)
end
