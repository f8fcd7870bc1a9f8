-- POST /api/auth/refresh, each wrk thread driving its own session: the
-- rotated cookie of every response is sent with the next request. Run with
-- as many connections as threads (-c == -t) so a thread's requests are
-- sequential, like one browser. Its sessions are its own
-- (refresh_cookies.txt, set aside by run.sh).
local counter = 0
local threads = {}
setup = function(thread)
  counter = counter + 1
  thread:set("index", counter)
  table.insert(threads, thread)
end

init = function(args)
  local n = 0
  for line in io.lines(os.getenv("LOAD_DIR") .. "/refresh_cookies.txt") do
    n = n + 1
    if n == index then cookie = line end
  end
end

request = function()
  return wrk.format("POST", "/api/auth/refresh", {
    ["Content-Type"] = "application/json",
    ["Cookie"] = "__Secure-latchkey-refresh=" .. cookie,
  }, "{}")
end

response = function(status, headers, body)
  local set = headers["Set-Cookie"] or headers["set-cookie"]
  if status == 200 and set then
    local value = set:match("__Secure%-latchkey%-refresh=([^;]+)")
    if value then cookie = value end
  end
end
