-- wrk script: sends GET /api/session with the requests of a file written
-- by "e2e requests" (REQUESTS in the environment), in turn, each as the
-- POS extension client sends it: a bearer token, the client hint headers
-- and Shopify's extension origin. Requests are formatted once, in init.
local reqs = {}
local i = 0

function init(args)
  local path = os.getenv("REQUESTS")
  for line in io.lines(path) do
    local token, domain, shopid, userid, location = line:match("^([^\t]+)\t([^\t]+)\t([^\t]+)\t([^\t]+)\t([^\t]+)$")
    reqs[#reqs + 1] = wrk.format("GET", "/api/session", {
      ["Authorization"] = "Bearer " .. token,
      ["Origin"] = "https://extensions.shopifycdn.com",
      ["X-Possession-Shop-Id"] = shopid,
      ["X-Possession-Shop-Domain"] = domain,
      ["X-Possession-User-Id"] = userid,
      ["X-Possession-Location-Id"] = location,
    })
  end
  if #reqs == 0 then error("no requests in " .. tostring(path)) end
end

function request()
  i = i % #reqs + 1
  return reqs[i]
end
