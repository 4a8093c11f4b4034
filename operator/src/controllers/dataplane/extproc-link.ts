// How each DataPlane's compiled extproc cluster reaches that DataPlane's own extproc pods: where (the
// headless Service) and, with mutual TLS, with what (Envoy's mounted certificate and trust bundle,
// read through the filesystem SDS files in the bootstrap ConfigMap). The kube operator hands it to
// the compiler as extProcFor. Pure.
import type { ExtProcLink } from '../../compile/compile.ts';
import type { IrEndpoint, IrExtProcTls } from '../../compile/ir.ts';
import { extprocServiceHost, paths, ports, tlsFiles } from '../../api/names.ts';

export interface DataPlaneRef {
  namespace: string;
  name: string;
}

/** Where a DataPlane's Envoys reach its extproc: its extproc Service. */
export function extProcEndpoint(dataPlane: DataPlaneRef): IrEndpoint {
  return { host: extprocServiceHost(dataPlane.namespace, dataPlane.name), port: ports.extprocGrpc };
}

/**
 * The DataPlane's Envoys' own certificate (`<dp>-envoy-tls`) and trust bundle (`<dp>-ca-bundle`) as
 * the pod mounts them, the SDS files in the bootstrap ConfigMap's mount, and the extproc Service's
 * name, which extproc's certificate carries.
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
 * The compile option extProcFor: each DataPlane's own extproc Service (or an --extproc-address for
 * every one) and, with mutual TLS, its Envoys' certificate. The name checked is the one dialled, so
 * an --extproc-address must then be a name (or address) extproc's certificate carries.
 */
export function extProcLinkFor(options: {
  extProc?: IrEndpoint;
  mtls: boolean;
}): (dataPlane: DataPlaneRef) => ExtProcLink {
  return (dataPlane) => {
    const endpoint = options.extProc ?? extProcEndpoint(dataPlane);
    if (!options.mtls) return { endpoint };
    return { endpoint, tls: { ...extProcTlsFor(dataPlane.namespace, dataPlane.name), sni: endpoint.host } };
  };
}
