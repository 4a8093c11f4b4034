-- Argo CD health check for gatehouse.dev/App (charts/gatehouse/README.md: "Argo CD").
-- Runs with only Lua's base, table and package libraries, as argocd-cm scripts do: no string library.
local hs = {}

local function findCondition(ctype)
  if obj.status == nil or obj.status.conditions == nil then
    return nil
  end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == ctype then
      return c
    end
  end
  return nil
end

local function describe(c, fallback)
  if c ~= nil and c.message ~= nil and c.message ~= "" then
    return c.message
  end
  return fallback
end

if obj.status == nil or obj.status.conditions == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the Gatehouse operator to report status"
  return hs
end

-- The conditions describe an older spec until the operator has observed this generation.
local generation = obj.metadata.generation
local observed = obj.status.observedGeneration
if generation ~= nil and (observed == nil or observed < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the Gatehouse operator to observe generation " .. generation
  return hs
end

-- Bad input does not heal by waiting: a rejected spec or a reference that does not resolve is Degraded.
local accepted = findCondition("Accepted")
if accepted ~= nil and accepted.status == "False" then
  hs.status = "Degraded"
  hs.message = describe(accepted, "The Gatehouse operator did not accept this generation")
  return hs
end
local resolved = findCondition("ResolvedRefs")
if resolved ~= nil and resolved.status == "False" then
  hs.status = "Degraded"
  hs.message = describe(resolved, "A referenced object does not exist")
  return hs
end

local ready = findCondition("Ready")
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = describe(ready, "Ready")
  return hs
end

hs.status = "Progressing"
hs.message = describe(ready, "Waiting for the Ready condition")
return hs
