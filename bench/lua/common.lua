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

function M.urlencode(s)
  return (s:gsub("[^%w%-%.~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

return M
