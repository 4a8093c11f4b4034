-- Fails under Argo CD's argocd-cm sandbox: the string library is not opened.
local hs = {}
hs.status = "Healthy"
hs.message = string.format("generation %d", obj.metadata.generation)
return hs
