// Mutual TLS between a DataPlane's pods and to the operator, checked across the parts that must agree:
// every file Envoy is told to read (its bootstrap, the SDS files next to it, the compiled
// `gatehouse-extproc` cluster) lies in a volume its container mounts, under a key that volume has;
// extproc's arguments are real `gatehouse extproc` TLS flags naming its own mounts; the names Envoy and
// extproc check are names the issued certificates carry; and without mtls nothing names a Secret.
import { basename, dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseOptions } from '../../../../lib/cli/command.ts';
import { extprocCommand } from '../../../../extproc/src/command.ts';
import { envoyLeaf, extprocLeaf, xdsLeaf } from '../../certs/leaves.ts';
import { compile } from '../../compile/compile.ts';
import { extProcLinkFor, extProcTlsFor } from './extproc-link.ts';
import { renderDataPlane, xdsHost, type DataPlaneObject, type KubeObject, type RenderOptions } from './render.ts';
import {
  bootstrapHashAnnotation,
  bootstrapKey,
  caBundleSecretName,
  secretKeys,
  tlsSecretName,
  type Component,
} from '../../api/names.ts';

const options: RenderOptions = {
  envoyImage: 'envoy',
  gatehouseImage: 'gatehouse',
  xds: { host: 'gatehouse-xds', port: 18000 },
  operatorNamespace: 'gatehouse-system',
  mtls: true,
};
const plain: RenderOptions = { ...options, mtls: false };
const dp: DataPlaneObject = {
  apiVersion: 'gatehouse.dev/v1alpha1',
  kind: 'DataPlane',
  metadata: { name: 'eu', namespace: 'edge', uid: 'u' },
  spec: { listeners: [{ name: 'https', port: 8443, protocol: 'HTTPS', tls: { issue: true } }] },
};
const edgeEu = { namespace: 'edge', name: 'eu' };

interface Pod {
  containers: { args: string[]; volumeMounts: { name: string; mountPath: string }[] }[];
  volumes: ({ name: string } & Record<string, unknown>)[];
}

const podOf = (objects: KubeObject[], component: Component) =>
  (
    objects.find((o) => o.kind === 'Deployment' && o.metadata.name === `eu-${component}`) as KubeObject & {
      spec: { template: { spec: Pod } };
    }
  ).spec.template.spec;
const configMapData = (objects: KubeObject[]) =>
  objects.find((o) => o.kind === 'ConfigMap')!.data as Record<string, string>;

/** The keys each Secret a pod may mount holds (as the certificates controller writes them). */
const mountedSecretKeys: Record<string, string[]> = {
  [tlsSecretName('eu', 'envoy')]: [secretKeys.tlsCert, secretKeys.tlsKey],
  [tlsSecretName('eu', 'extproc')]: [secretKeys.tlsCert, secretKeys.tlsKey],
  [caBundleSecretName('eu')]: [secretKeys.caCert],
};

/**
 * Where a file a container reads comes from: the volume mounted at its directory, and that volume's
 * key. Fails the test when no mount covers it or the volume has no such key.
 */
function source(pod: Pod, data: Record<string, string>, file: string): string {
  const mount = pod.containers[0]!.volumeMounts.find((m) => m.mountPath === dirname(file));
  expect(mount, `no volume mounted at ${dirname(file)} (for ${file})`).toBeDefined();
  const volume = pod.volumes.find((v) => v.name === mount!.name) as {
    configMap?: { name: string };
    secret?: { secretName: string; optional?: boolean };
  };
  if (volume.configMap) {
    expect(Object.keys(data), `ConfigMap ${volume.configMap.name} has no key for ${file}`).toContain(basename(file));
    return `ConfigMap ${volume.configMap.name} ${basename(file)}`;
  }
  expect(volume.secret?.optional).toBe(false);
  expect(
    mountedSecretKeys[volume.secret!.secretName],
    `Secret ${volume.secret!.secretName} has no key for ${file}`,
  ).toContain(basename(file));
  return `Secret ${volume.secret!.secretName} ${basename(file)}`;
}

/** Every file (`filename`, an SDS `path`) and watched directory a piece of Envoy configuration names. */
function referencedPaths(json: unknown, out = { files: [] as string[], dirs: [] as string[] }) {
  if (Array.isArray(json)) for (const v of json) referencedPaths(v, out);
  else if (json && typeof json === 'object') {
    for (const [k, v] of Object.entries(json as Record<string, unknown>)) {
      if (k === 'filename' && typeof v === 'string') out.files.push(v);
      else if (k === 'path_config_source') {
        out.files.push((v as { path: string }).path);
        referencedPaths(v, out);
      } else if (k === 'watched_directory') out.dirs.push((v as { path: string }).path);
      else referencedPaths(v, out);
    }
  }
  return out;
}

describe('mutual TLS of DataPlane pods', () => {
  it('without mtls: no Secret is mounted or referenced, no file of one is named, Envoy dials xDS in plain text', () => {
    const objects = renderDataPlane(dp, plain);
    for (const component of ['envoy', 'extproc'] as const) {
      const pod = podOf(objects, component);
      expect(pod.volumes.filter((v) => 'secret' in v)).toEqual([]);
      expect(pod.containers[0]!.args.filter((a) => a.startsWith('--tls') || a.startsWith('--xds-tls'))).toEqual([]);
    }
    const text = JSON.stringify(objects);
    expect(text).not.toMatch(/eu-envoy-tls|eu-extproc-tls|eu-ca-bundle|\/etc\/gatehouse|transport_socket/);
    expect(Object.keys(configMapData(objects))).toEqual([bootstrapKey]);
    expect(extProcLinkFor({ mtls: false })(edgeEu)).toEqual({
      endpoint: { host: 'eu-extproc.edge.svc', port: 9002 },
    });
  });

  it('with mtls: every file Envoy is told to read (bootstrap, SDS files, compiled extproc cluster) is mounted', () => {
    const objects = renderDataPlane(dp, options);
    const pod = podOf(objects, 'envoy');
    const data = configMapData(objects);
    // The default DataPlane's cluster, linked as edge/eu's would be.
    const compiled = compile([], {
      credentialHashKey: 'k',
      extProcFor: () => extProcLinkFor({ mtls: true })(edgeEu),
    }).snapshot.envoy.clusters.find((c) => c.name === 'gatehouse-extproc/default/default');
    expect(compiled).toBeDefined();
    const config = [
      JSON.parse(data[bootstrapKey]!),
      ...Object.entries(data)
        .filter(([k]) => k !== bootstrapKey)
        .map(([, v]) => JSON.parse(v) as unknown),
      compiled,
    ];
    const { files, dirs } = referencedPaths(config);
    const args = pod.containers[0]!.args;
    files.push(args[args.indexOf('-c') + 1]!);
    const sources = [...new Set(files)].sort().map((f) => `${f} <- ${source(pod, data, f)}`);
    expect(sources).toEqual([
      '/etc/envoy/bootstrap.json <- ConfigMap eu-envoy-bootstrap bootstrap.json',
      '/etc/envoy/sds-extproc-ca.json <- ConfigMap eu-envoy-bootstrap sds-extproc-ca.json',
      '/etc/envoy/sds-extproc-client.json <- ConfigMap eu-envoy-bootstrap sds-extproc-client.json',
      '/etc/envoy/sds-xds-ca.json <- ConfigMap eu-envoy-bootstrap sds-xds-ca.json',
      '/etc/envoy/sds-xds-client.json <- ConfigMap eu-envoy-bootstrap sds-xds-client.json',
      '/etc/gatehouse/ca/ca.crt <- Secret eu-ca-bundle ca.crt',
      '/etc/gatehouse/tls/tls.crt <- Secret eu-envoy-tls tls.crt',
      '/etc/gatehouse/tls/tls.key <- Secret eu-envoy-tls tls.key',
    ]);
    // Every watched directory is a mount point: kubelet's symlink swap there is what triggers a reload.
    const mountPaths = pod.containers[0]!.volumeMounts.map((m) => m.mountPath);
    for (const dir of new Set(dirs)) expect(mountPaths).toContain(dir);
    expect(new Set(dirs)).toEqual(new Set(['/etc/envoy', '/etc/gatehouse/tls', '/etc/gatehouse/ca']));
  });

  it("with mtls: extproc's arguments are real TLS flags naming its own certificate and the trust bundle", () => {
    const objects = renderDataPlane(dp, options);
    const pod = podOf(objects, 'extproc');
    const [command, ...args] = pod.containers[0]!.args;
    expect(command).toBe('extproc');
    const parsed = parseOptions(extprocCommand, args);
    const server = parsed.tls!;
    const client = parsed.xdsTls!;
    const data = configMapData(objects);
    expect({
      serve: [server.certFile, server.keyFile, server.clientCaFile!].map((f) => source(pod, data, f)),
      dialXds: [client.certFile!, client.keyFile!, client.caFile].map((f) => source(pod, data, f)),
    }).toEqual({
      serve: ['Secret eu-extproc-tls tls.crt', 'Secret eu-extproc-tls tls.key', 'Secret eu-ca-bundle ca.crt'],
      dialXds: ['Secret eu-extproc-tls tls.crt', 'Secret eu-extproc-tls tls.key', 'Secret eu-ca-bundle ca.crt'],
    });
  });

  it('with mtls: the names checked are names the issued certificates carry, and each leaf has the usage it is used for', () => {
    const ns = dp.metadata.namespace!;
    // Envoy -> extproc: the SNI and SAN checked; extproc serves and is an xDS client.
    expect(extprocLeaf(ns, 'eu').dns).toContain(extProcTlsFor(ns, 'eu').sni);
    expect(extprocLeaf(ns, 'eu')).toMatchObject({
      secretName: tlsSecretName('eu', 'extproc'),
      usages: expect.arrayContaining(['serverAuth', 'clientAuth']) as unknown,
    });
    // Envoy is a client of xDS and of extproc.
    expect(envoyLeaf(ns, 'eu')).toMatchObject({ secretName: tlsSecretName('eu', 'envoy'), usages: ['clientAuth'] });
    // Envoy and extproc -> xDS: the host both dial is a SAN of the xDS server's certificate.
    const xds = xdsLeaf(options.operatorNamespace, 'gatehouse-xds');
    expect(xds.dns).toContain(xdsHost(options));
    const extprocArgs = podOf(renderDataPlane(dp, options), 'extproc').containers[0]!.args;
    expect(xds.dns).toContain(extprocArgs[extprocArgs.indexOf('--xds') + 1]!.replace(/:\d+$/, ''));
  });

  it('rolls the Envoys when mtls is turned on or off, and keeps the SDS files in the bootstrap ConfigMap', () => {
    const hash = (o: RenderOptions) => {
      const envoy = renderDataPlane(dp, o).find(
        (x) => x.kind === 'Deployment' && x.metadata.name === 'eu-envoy',
      ) as KubeObject & { spec: { template: { metadata: { annotations: Record<string, unknown> } } } };
      return envoy.spec.template.metadata.annotations[bootstrapHashAnnotation];
    };
    expect(hash(options)).not.toBe(hash(plain));
    expect(Object.keys(configMapData(renderDataPlane(dp, options)))).toEqual([
      bootstrapKey,
      'sds-extproc-ca.json',
      'sds-extproc-client.json',
      'sds-xds-ca.json',
      'sds-xds-client.json',
    ]);
  });
});

describe('extProcLinkFor', () => {
  it('points each DataPlane at its own extproc Service, with that name checked under mtls', () => {
    const link = extProcLinkFor({ mtls: true });
    expect(link({ namespace: 'a-ns', name: 'z' })).toEqual({
      endpoint: { host: 'z-extproc.a-ns.svc', port: 9002 },
      tls: {
        certFile: '/etc/gatehouse/tls/tls.crt',
        keyFile: '/etc/gatehouse/tls/tls.key',
        caFile: '/etc/gatehouse/ca/ca.crt',
        sni: 'z-extproc.a-ns.svc',
        sdsDir: '/etc/envoy',
      },
    });
    expect(link({ namespace: 'b-ns', name: 'a' }).tls).toEqual(extProcTlsFor('b-ns', 'a'));
    expect(link({ namespace: 'b-ns', name: 'a' }).endpoint.host).toBe('a-extproc.b-ns.svc');
  });

  it('checks the name of an --extproc-address, which every DataPlane then dials', () => {
    const extProc = { host: 'extproc.shared.svc', port: 9443 };
    expect(extProcLinkFor({ extProc, mtls: true })({ namespace: 'b-ns', name: 'a' })).toMatchObject({
      endpoint: extProc,
      tls: { sni: 'extproc.shared.svc' },
    });
    expect(extProcLinkFor({ extProc, mtls: false })({ namespace: 'b-ns', name: 'a' })).toEqual({ endpoint: extProc });
  });
});
