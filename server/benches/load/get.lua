-- GET requests for load/run.sh, every one through this script's request():
-- the baseline and every scenario cost wrk the same per request, so what
-- a ratio measures is the server. Each request is built once, up front
-- (wrk's scripting guide: building one per request in request() is
-- expensive, and on two shared cores the client's cost is the server's loss).
--
--   wrk … -s get.lua URL -- PATH [HEADER PREFIX FILE]
--
-- Without HEADER, every request is the same GET of PATH. With it, request
-- i carries `HEADER: PREFIX<line i of $LOAD_DIR/FILE>`, round-robin (at
-- least 1,000 distinct credentials: tokens.txt, session_cookies.txt).
-- With PACE_MS set, each connection waits that long between requests.
local requests = {}
local i = 0

function init(args)
  local path, header, prefix, file = args[1], args[2], args[3], args[4]
  if header == nil then
    requests[1] = wrk.format("GET", path)
    return
  end
  for line in io.lines(os.getenv("LOAD_DIR") .. "/" .. file) do
    requests[#requests + 1] = wrk.format("GET", path, { [header] = prefix .. line })
  end
end

function request()
  i = i % #requests + 1
  return requests[i]
end

local pace = tonumber(os.getenv("PACE_MS") or "")
if pace then
  function delay()
    return pace
  end
end
