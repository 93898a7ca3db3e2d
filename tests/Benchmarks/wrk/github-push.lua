-- wrk script: signed GitHub push deliveries, each with its own X-GitHub-Delivery (so none is a duplicate).
-- The signature covers only the body, which stays the same; SIGNATURE is computed by inbound.sh.
wrk.method = "POST"
wrk.body = os.getenv("BODY")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-GitHub-Event"] = "push"
wrk.headers["X-Hub-Signature-256"] = os.getenv("SIGNATURE")
local counter = 0
local thread_id = tostring(math.random(1, 1e9))
request = function()
  counter = counter + 1
  wrk.headers["X-GitHub-Delivery"] = thread_id .. "-" .. counter
  return wrk.format(nil, nil, nil, nil)
end
