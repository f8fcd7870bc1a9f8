-- POST /api/auth/login round-robin over the seeded accounts.
local logins = {}
for line in io.lines(os.getenv("LOAD_DIR") .. "/logins.txt") do
  local email, password = line:match("([^\t]+)\t(.+)")
  logins[#logins + 1] = '{"email":"' .. email .. '","password":"' .. password .. '"}'
end
local i = 0
request = function()
  i = i % #logins + 1
  return wrk.format("POST", "/api/auth/login", { ["Content-Type"] = "application/json" }, logins[i])
end
