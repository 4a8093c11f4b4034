-- Argo CD health check for every gatehouse.dev kind: ApiProxy, ApiPolicy, ApiProduct, Developer, DeveloperApp,
-- DataPlane and KeyValueMap (charts/gatehouse/README.md: "Argo CD"). One script, set under each kind's argocd-cm key;
-- where the kinds differ it asks obj.kind.
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

-- The message of the first of `checks` ({condition type, fallback message}) whose condition is False.
local function firstFalse(checks)
  for _, check in ipairs(checks) do
    local c = findCondition(check[1])
    if c ~= nil and c.status == "False" then
      return describe(c, check[2])
    end
  end
  return nil
end

-- Why the object will not become healthy by waiting, or nil.
local function stuck()
  -- Bad input does not heal: a rejected spec or a reference that does not resolve.
  local bad = firstFalse({
    {"Accepted", "The Gatehouse operator did not accept this generation"},
    {"ResolvedRefs", "A referenced object does not exist"},
  })
  if bad ~= nil then
    return bad
  end
  local ready = findCondition("Ready")
  if ready == nil or ready.status ~= "False" then
    return nil
  end
  -- A data-plane node rejected (NACKed) the configuration built from this proxy.
  if obj.kind == "ApiProxy" and ready.reason == "Rejected" then
    return describe(ready, "A data-plane node rejected the configuration")
  end
  -- No room for the pods, certificates that cannot be issued, or a configuration Envoy rejects.
  if obj.kind == "DataPlane" then
    bad = firstFalse({{"CapacityOK", "CapacityOK is False"}, {"CertificatesReady", "CertificatesReady is False"}})
    if bad ~= nil then
      return bad
    end
    local synced = findCondition("ConfigSynced")
    if synced ~= nil and synced.status == "False" and synced.reason == "Rejected" then
      return describe(synced, "A data-plane node rejected the configuration")
    end
  end
  return nil
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

local reason = stuck()
if reason ~= nil then
  hs.status = "Degraded"
  hs.message = reason
  return hs
end

local ready = findCondition("Ready")
if ready ~= nil and ready.status == "True" then
  -- An ApiProxy is healthy once the data plane runs it too (Programmed).
  local programmed = findCondition("Programmed")
  if obj.kind == "ApiProxy" and (programmed == nil or programmed.status ~= "True") then
    hs.status = "Progressing"
    hs.message = describe(programmed, "Waiting for the Programmed condition")
    return hs
  end
  hs.status = "Healthy"
  hs.message = describe(ready, "Ready")
  return hs
end

hs.status = "Progressing"
hs.message = describe(ready, "Waiting for the Ready condition")
return hs
