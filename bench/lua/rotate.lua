-- Each request takes the next line of the file named by ORDERDESK_BENCH_REQUESTS:
-- "METHOD<TAB>PATH<TAB>BODY" (BODY may be empty; "{n}" in it becomes a number that changes with every
-- request, so that an update really changes something). Threads start at different lines.
local lines = {}
local counter = 0
local token = os.getenv("ORDERDESK_BENCH_TOKEN")

function setup(thread)
  thread:set("offset", counter)
  counter = counter + 7920  -- even: a fulfil and its unfulfil stay a pair
end

function init(args)
  for line in io.lines(os.getenv("ORDERDESK_BENCH_REQUESTS")) do
    local method, path, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
    lines[#lines + 1] = {method, path, body}
  end
  index = offset or 0
end

function request()
  index = index + 1
  local entry = lines[(index % #lines) + 1]
  local headers = {["Authorization"] = "Bearer " .. token}
  if entry[3] ~= "" then
    headers["Content-Type"] = "application/json"
  end
  local body = nil
  if entry[3] ~= "" then
    body = entry[3]:gsub("{n}", tostring(index))
  end
  return wrk.format(entry[1], entry[2], headers, body)
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format("BENCH requests=%d seconds=%.3f p50=%.3f p99=%.3f non2xx=%d socket=%d\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    errors.status, errors.connect + errors.read + errors.write + errors.timeout))
end
