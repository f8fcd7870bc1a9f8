-- GET /api/me in session mode: a different session cookie per request,
-- round-robin over session_cookies.txt (at least 1,000 distinct sessions).
-- A GET needs no CSRF token.
local cookies = {}
for line in io.lines(os.getenv("LOAD_DIR") .. "/session_cookies.txt") do cookies[#cookies + 1] = line end
local i = 0
request = function()
  i = i % #cookies + 1
  return wrk.format("GET", "/api/me", { ["Cookie"] = "__Host-latchkey-session=" .. cookies[i] })
end
