-- Shared by the workload scripts: reads the seeded firearms (id, serial)
-- from $BENCH_DATA and picks one at random per request.
local M = {}

function M.load()
  local rows = {}
  for line in io.lines(os.getenv("BENCH_DATA")) do
    local id, serial = line:match("^([^\t]+)\t([^\t]+)$")
    if id then rows[#rows + 1] = {id = id, serial = serial} end
  end
  return rows
end

-- Latency as pgbench measures it: each request's own time, from sending it
-- to its answer, paired by the X-Request-Id the registry echoes. wrk's own
-- percentiles add synthetic samples for coordinated omission
-- (stats_correct), which pgbench does not: a single half-second stall then
-- weighs as hundreds of requests and sets the p99 on its own.
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock, bench_timespec *ts);
]]
local ts = ffi.new("bench_timespec")
local CLOCK_MONOTONIC = 1

local function now_us()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) * 1000000 + tonumber(ts.tv_nsec) / 1000
end

local started = {}
latencies = {}

-- Marks a request about to be sent; `headers` gets its id.
function M.stamp(headers, tid, counter)
  local id = tid .. "-" .. counter
  headers["X-Request-Id"] = id
  started[id] = now_us()
end

function response(status, headers, body)
  local id = headers["x-request-id"] or headers["X-Request-Id"]
  local t0 = id and started[id]
  if t0 then
    latencies[#latencies + 1] = now_us() - t0
    started[id] = nil
  end
end

-- Called by each script's setup(): the threads whose latencies done() reads.
local threads = {}
function M.track(thread)
  threads[#threads + 1] = thread
end

function done(summary, latency, requests)
  local all = {}
  for _, t in ipairs(threads) do
    for _, v in ipairs(t:get("latencies") or {}) do all[#all + 1] = v end
  end
  table.sort(all)
  if #all > 0 then
    local at = function(q) return all[math.min(#all, math.floor(#all * q) + 1)] end
    print(string.format("Measured latency us: p50 %.0f p99 %.0f n %d", at(0.5), at(0.99), #all))
  end
end

function M.urlencode(s)
  return (s:gsub("[^%w%-%.~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

return M
