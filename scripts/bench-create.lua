-- wrk script: POST /api/v1/tasks with a distinct small task per request.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
local counter = 0
request = function()
  counter = counter + 1
  local body = '{"title":"wrk task ' .. counter .. '","tags":["bench"],"priority":"high","due_at":"2031-01-01T09:00:00Z"}'
  return wrk.format(nil, "/api/v1/tasks", nil, body)
end
