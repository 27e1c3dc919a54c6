-- wrk script for scripts/bench-http: POST /api/v1/events, one new, valid
-- event per request, and an exact account of what was answered.
--
-- Each request is a `MilestoneMarked` in programme PROGRAMME whose milestone id
-- is unique: `b<run tag>-t<thread>-<counter>` (slugs: a-z, 0-9, '-', at most
-- 64 characters). The body has no `id`, so every request appends one event
-- (no idempotent retry) and each lands on its own stream, so no
-- expected-version conflict is possible. The bearer token comes from wrk's
-- `-H 'Authorization: Bearer …'`; this script adds the content type.
--
-- Arguments (after wrk's `--`): RUN_TAG [OUT_DIR [PROGRAMME]]
--   RUN_TAG    letters and digits that make the ids of this run unique
--   OUT_DIR    where done() writes answered-201.txt (milestone ids answered
--              201) and unanswered.txt (ids sent but not answered when wrk
--              stopped: in flight, so the server may or may not have committed
--              them); nothing is written when it is missing or "-"
--   PROGRAMME  the programme appended to, default sjdlr
--
-- done() prints one machine-readable line (read by scripts/bench-http):
--   RESULT requests=… duration_us=… rps=… p50_us=… p99_us=… … created=… non201=… statuses=201:…
-- and, if any answer was not 201, up to 5 sample bodies. Every append must be 201.

local threads = {}
local next_thread = 0

function setup(thread)
   next_thread = next_thread + 1
   thread:set("tid", next_thread)
   table.insert(threads, thread)
end

-- Per thread (each wrk thread has its own Lua state).
local tag = "x"
local programme = "sjdlr"
local counter = 0
sent = 0
created = 0
non201 = 0
statuses = {}
answered = {}      -- milestone ids answered 201, in order
outstanding = {}   -- milestone id -> true while sent and not answered
samples = {}       -- up to 5 bodies of non-201 answers

function init(args)
   tag = args[1] or "x"
   out_dir = args[2]   -- a global: done() reads it back with thread:get
   if out_dir == "-" then
      out_dir = nil
   end
   programme = args[3] or "sjdlr"
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
end

function request()
   counter = counter + 1
   sent = sent + 1
   local id = string.format("b%s-t%d-%d", tag, tid, counter)
   outstanding[id] = true
   local body = string.format(
      '{"type":"MilestoneMarked","programme":"%s","occurred_at":"2022-03-01",' ..
      '"data":{"milestone":"%s","label":"HTTP load benchmark milestone %d","kind":"other"}}',
      programme, id, counter)
   return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
   local id = body and body:match('"milestone":"([^"]+)"')
   if id then
      outstanding[id] = nil
   end
   if status == 201 then
      created = created + 1
      answered[#answered + 1] = id or "?"
   else
      non201 = non201 + 1
      if #samples < 5 then
         samples[#samples + 1] = tostring(status) .. " " .. tostring(body):sub(1, 300)
      end
   end
end

local function write_lines(path, lines)
   local f = assert(io.open(path, "w"))
   for _, l in ipairs(lines) do
      f:write(l, "\n")
   end
   f:close()
end

function done(summary, latency, requests)
   local out_dir = nil
   local total = { sent = 0, created = 0, non201 = 0 }
   local by_status = {}
   local all_answered, all_unanswered, all_samples = {}, {}, {}
   for _, t in ipairs(threads) do
      total.sent = total.sent + t:get("sent")
      total.created = total.created + t:get("created")
      total.non201 = total.non201 + t:get("non201")
      for s, n in pairs(t:get("statuses")) do
         by_status[s] = (by_status[s] or 0) + n
      end
      for _, id in ipairs(t:get("answered")) do
         all_answered[#all_answered + 1] = id
      end
      for id, _ in pairs(t:get("outstanding")) do
         all_unanswered[#all_unanswered + 1] = id
      end
      for _, s in ipairs(t:get("samples")) do
         all_samples[#all_samples + 1] = s
      end
      out_dir = out_dir or t:get("out_dir")
   end
   local codes = {}
   for s, _ in pairs(by_status) do
      codes[#codes + 1] = s
   end
   table.sort(codes)
   local parts = {}
   for _, s in ipairs(codes) do
      parts[#parts + 1] = string.format("%d:%d", s, by_status[s])
   end
   local e = summary.errors
   io.write(string.format(
      "RESULT requests=%d duration_us=%d rps=%.1f p50_us=%.0f p90_us=%.0f p99_us=%.0f max_us=%.0f " ..
      "status_errors=%d connect_errors=%d read_errors=%d write_errors=%d timeouts=%d " ..
      "sent=%d created=%d non201=%d unanswered=%d statuses=%s\n",
      summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
      e.status, e.connect, e.read, e.write, e.timeout,
      total.sent, total.created, total.non201, #all_unanswered,
      #parts > 0 and table.concat(parts, ",") or "none"))
   for _, s in ipairs(all_samples) do
      io.write("NON201 ", s:gsub("\n", " "), "\n")
   end
   if out_dir then
      write_lines(out_dir .. "/answered-201.txt", all_answered)
      write_lines(out_dir .. "/unanswered.txt", all_unanswered)
   end
end
