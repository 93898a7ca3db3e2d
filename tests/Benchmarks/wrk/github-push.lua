-- wrk script: signed GitHub push deliveries, each with its own X-GitHub-Delivery (so none is a duplicate,
-- also across runs against the same data directory). The signature covers only the body, which stays the
-- same; SIGNATURE is computed by inbound.sh.
wrk.method = "POST"
wrk.body = os.getenv("BODY")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-GitHub-Event"] = "push"
wrk.headers["X-Hub-Signature-256"] = os.getenv("SIGNATURE")

-- setup runs once per thread in the main Lua state: hand every thread a prefix no other thread or run has
-- (each thread's own math.random starts from the same seed, so it cannot be used for this).
local threads = {}
local run = os.getenv("RUN_ID") or tostring(os.time())
function setup(thread)
  table.insert(threads, thread)
  thread:set("prefix", run .. "-" .. #threads .. "-")
end

local counter = 0
request = function()
  counter = counter + 1
  wrk.headers["X-GitHub-Delivery"] = prefix .. counter
  return wrk.format(nil, nil, nil, nil)
end

-- a duplicate is answered 200 instead of 202 and measures the wrong path: count every answer that is not 202
not_accepted = 0
response = function(status, headers, body)
  if status ~= 202 then not_accepted = not_accepted + 1 end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("not_accepted") end
  io.write(string.format("answers other than 202: %d\n", total))
end
