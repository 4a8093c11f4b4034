// How the compiled `gatehouse-extproc` cluster reaches a DataPlane's extproc pods: where (the
// headless Service) and, with mutual TLS, with what (Envoy's mounted certificate and trust bundle,
// read through the filesystem SDS files in the bootstrap ConfigMap). The kube operator passes both to
// the compiler for the lead DataPlane. Pure.
import type { IrEndpoint, IrExtProcTls } from '../../compile/ir.ts';
import { extprocServiceHost, paths, ports, tlsFiles } from '../../api/names.ts';

export interface DataPlaneRef {
  namespace: string;
  name: string;
}

type Named = { metadata?: { namespace?: string; name?: string } };

/**
 * The first DataPlane by namespace/name. One `gatehouse-extproc` cluster serves every DataPlane's
 * listeners for now, and it points at this DataPlane's extproc.
 */
export function leadDataPlane(dataPlanes: readonly Named[]): DataPlaneRef | undefined {
  return dataPlanes
    .map((d) => ({ namespace: d.metadata?.namespace ?? 'default', name: d.metadata?.name ?? '' }))
    .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name))[0];
}

/** Where Envoy reaches extproc when no --extproc-address is given: the lead DataPlane's extproc Service. */
export function extProcEndpoint(dataPlanes: readonly Named[]): IrEndpoint | undefined {
  const lead = leadDataPlane(dataPlanes);
  return lead && { host: extprocServiceHost(lead.namespace, lead.name), port: ports.extprocGrpc };
}

/**
 * The compile option `extProcTls` for a DataPlane's Envoys: their own certificate (`<dp>-envoy-tls`)
 * and trust bundle (`<dp>-ca-bundle`) as the pod mounts them, the SDS files in the bootstrap
 * ConfigMap's mount, and the extproc Service's name, which extproc's certificate carries.
 */
export function extProcTlsFor(namespace: string, dataPlane: string): IrExtProcTls {
  return {
    certFile: tlsFiles.certificateChain,
    keyFile: tlsFiles.privateKey,
    caFile: tlsFiles.trustedCa,
    sni: extprocServiceHost(namespace, dataPlane),
    sdsDir: paths.envoyBootstrapDir,
  };
}

/**
 * The compile options of the `gatehouse-extproc` cluster: where (an --extproc-address, else the lead
 * DataPlane's extproc Service) and, with mutual TLS, extProcTls. The Envoys' certificate files are
 * the same in every DataPlane; the name checked is the one dialled, so an --extproc-address must then
 * be a name (or address) extproc's certificate carries.
 */
export function extProcCompileOptions(
  dataPlanes: readonly Named[],
  options: { extProc?: IrEndpoint; mtls: boolean },
): { extProc?: IrEndpoint; extProcTls?: IrExtProcTls } {
  const extProc = options.extProc ?? extProcEndpoint(dataPlanes);
  const lead = options.mtls ? leadDataPlane(dataPlanes) : undefined;
  if (!extProc) return {};
  if (!lead) return { extProc };
  return { extProc, extProcTls: { ...extProcTlsFor(lead.namespace, lead.name), sni: extProc.host } };
}
