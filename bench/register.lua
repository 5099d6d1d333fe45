-- wrk script: registers firearms with unique serials.
-- Environment: TOKEN (a registrar's bearer token), AGENCY (its agency id), RUN (a unique prefix).
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local common = require("common")

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
  common.track(thread)
end

function init(args)
  counter = 0
  token = os.getenv("TOKEN")
  agency = os.getenv("AGENCY")
  run = os.getenv("RUN")
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"category":"assault_rifle","manufacturer":"Izhmash","model":"AKM","calibre":"7.62x39mm",' ..
    '"country_of_manufacture":"RU","year_of_manufacture":1978,"serial_number":"%s-%d-%d",' ..
    '"owner":{"kind":"agency","name":"Ghana Police Service","agency_id":"%s"}}',
    run, tid, counter, agency)
  local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}
  common.stamp(headers, tid, counter)
  return wrk.format("POST", "/v1/firearms", headers, body)
end
