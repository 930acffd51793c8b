-- A JSON POST of about 1 KiB, echoed back by the server.
local items = {}
for i = 1, 40 do
  items[i] = string.format('{"id":%d,"name":"item %d"}', i, i)
end
wrk.method = "POST"
wrk.body = '{"items":[' .. table.concat(items, ",") .. ']}'
wrk.headers["Content-Type"] = "application/json"
