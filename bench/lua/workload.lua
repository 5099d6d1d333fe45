-- One wrk script for every workload; $WORKLOAD picks it:
--   custody, trace_exact, trace_lookalike, trace_wildcard, history.
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local common = require("common")

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
  common.track(thread)
end

function init(args)
  rows = common.load()
  workload = os.getenv("WORKLOAD")
  token = os.getenv("TOKEN")
  counter = 0
  -- Names unique across runs: a transfer to the firearm's current
  -- custodian is refused, and runs pick the same firearms again.
  run = os.getenv("RUN")
  math.randomseed(os.time() + tid * 7919)
end

-- What a worn marking reads as: every look-alike swapped for its twin.
local twins = {["0"] = "O", ["1"] = "I", ["2"] = "Z", ["5"] = "S", ["6"] = "G", ["8"] = "B",
               O = "0", I = "1", Z = "2", S = "5", G = "6", B = "8"}

local function normalized(serial)
  return (serial:upper():gsub("[%s%-%./_]", ""))
end

function request()
  counter = counter + 1
  local row = rows[math.random(#rows)]
  local headers = {["Authorization"] = "Bearer " .. token}
  common.stamp(headers, tid, counter)
  if workload == "custody" then
    headers["Content-Type"] = "application/json"
    local body = string.format(
      '{"type":"custody_transfer","to":{"kind":"dealer","name":"Bench dealer %s-%d-%d"},"reason":"benchmark"}',
      run, tid, counter)
    return wrk.format("POST", "/v1/firearms/" .. row.id .. "/events", headers, body)
  elseif workload == "history" then
    return wrk.format("GET", "/v1/firearms/" .. row.id .. "/history", headers)
  end
  local n = normalized(row.serial)
  local q
  if workload == "trace_exact" then
    q = "serial=" .. common.urlencode(n) .. "&exact=true"
  elseif workload == "trace_lookalike" then
    q = "serial=" .. common.urlencode((n:gsub(".", function(c) return twins[c] or c end)))
  else
    -- An obliterated middle: AB*123.
    q = "serial=" .. common.urlencode(n:sub(1, 2) .. "*" .. n:sub(-3))
  end
  return wrk.format("GET", "/v1/trace?" .. q, headers)
end
