-- GET /api/me with a different access token per request, round-robin over
-- tokens.txt (at least 1,000 distinct tokens).
local tokens = {}
for line in io.lines(os.getenv("LOAD_DIR") .. "/tokens.txt") do tokens[#tokens + 1] = line end
local i = 0
request = function()
  i = i % #tokens + 1
  return wrk.format("GET", "/api/me", { ["Authorization"] = "Bearer " .. tokens[i] })
end
