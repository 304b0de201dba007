-- wrk script: POST /api/v1/tasks with a distinct small task per request, spread over the users
-- whose bearer tokens TOKENS holds (comma-separated), so one user's quota count stays small.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local tokens = {}
for token in string.gmatch(os.getenv("TOKENS") or os.getenv("TOKEN") or "", "[^,]+") do
  tokens[#tokens + 1] = "Bearer " .. token
end
local counter = 0
request = function()
  counter = counter + 1
  local body = '{"title":"wrk task ' .. counter .. '","tags":["bench"],"priority":"high","due_at":"2031-01-01T09:00:00Z"}'
  local headers = { ["Authorization"] = tokens[(counter % #tokens) + 1] }
  return wrk.format(nil, "/api/v1/tasks", headers, body)
end
