-- Argo CD health check for the hevlayer.com kinds (VectorStore, Index, InfraRules, Pipeline,
-- Function). layer-syncer writes status.observedGeneration and the conditions Ready,
-- Reconciling and Stalled (see docs/status.md). Lua 5.1, as Argo CD's gopher-lua runs it.
--   status behind metadata.generation -> Progressing (the syncer has not seen the change yet)
--   Stalled=True                      -> Degraded (a person must act; the message says what)
--   Ready=True                        -> Healthy
--   anything else                     -> Progressing
local hs = {}
if obj.status == nil or obj.status.conditions == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for layer-syncer to report status"
  return hs
end
local generation = obj.metadata and obj.metadata.generation
local observed = obj.status.observedGeneration
if generation ~= nil and observed ~= generation then
  hs.status = "Progressing"
  hs.message = "Waiting for layer-syncer to observe generation " .. tostring(generation)
  return hs
end
local ready, stalled
for _, c in ipairs(obj.status.conditions) do
  if c.type == "Ready" then
    ready = c
  elseif c.type == "Stalled" then
    stalled = c
  end
end
local function describe(c, fallback)
  if c.message ~= nil and c.message ~= "" then
    return c.message
  end
  if c.reason ~= nil then
    return c.reason
  end
  return fallback
end
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = describe(stalled, "Stalled")
  return hs
end
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = describe(ready, "Ready")
  return hs
end
hs.status = "Progressing"
if ready ~= nil then
  hs.message = describe(ready, "Not ready yet")
else
  hs.message = "Waiting for layer-syncer to report readiness"
end
return hs
