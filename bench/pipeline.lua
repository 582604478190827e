-- pipeline.lua - wrk script: send N requests at once on each connection
-- (wrk ... -s bench/pipeline.lua URL -- N), N = 16 by default.
init = function(args)
    local n = tonumber(args[1] or "16")
    local r = {}
    for i = 1, n do
        r[i] = wrk.format(nil, nil)
    end
    req = table.concat(r)
end

request = function()
    return req
end
