-- pipeline.lua: wrk script for http_hello_p16: each connection sends 16
-- GET / requests in one write and waits for the 16 answers (wrk counts
-- each answer as a request).
local depth = 16

init = function(args)
  local r = {}
  for i = 1, depth do
    r[i] = wrk.format(nil, "/")
  end
  req = table.concat(r)
end

request = function()
  return req
end
