import { describe, expect, it } from 'vitest';
import { parseOptions } from '../../lib/cli/command.ts';
import { compileCommand, operatorCommand } from './command.ts';

const parse = (argv: string[], env = {}) => parseOptions(operatorCommand, argv, env);

describe('gatehouse operator options', () => {
  it('defaults: kube mode, leader election on 15s/10s/2s, DataPlanes managed', () => {
    expect(parse([])).toMatchObject({
      xdsPort: 18000,
      metricsPort: 8081,
      manifests: undefined,
      operatorNamespace: 'gatehouse-system',
      leaderElect: true,
      leaseName: 'gatehouse-operator',
      leaseDuration: 15_000,
      renewDeadline: 10_000,
      retryPeriod: 2_000,
      manageDataplanes: true,
      extprocAddress: undefined,
      tls: undefined,
    });
  });

  it('serves the admission webhook only when --webhook-port is given; --webhook-san takes names and addresses', () => {
    expect(parse([])).toMatchObject({
      webhookPort: undefined,
      webhookService: 'gatehouse-webhook',
      webhookConfiguration: 'gatehouse-validation',
    });
    const o = parse(['--webhook-port', '9443', '--webhook-san', '127.0.0.1', '--webhook-san', 'hook.example']);
    expect(o).toMatchObject({ webhookPort: 9443, webhookSan: ['127.0.0.1', 'hook.example'] });
    expect(() => parse(['--webhook-port', '9443', '--manifests', 'x'])).toThrow(/--webhook-port serves a cluster/);
  });

  it('takes the operator namespace from $POD_NAMESPACE unless the flag names one', () => {
    expect(parse([], { POD_NAMESPACE: 'gh' }).operatorNamespace).toBe('gh');
    expect(parse(['--operator-namespace', 'other'], { POD_NAMESPACE: 'gh' }).operatorNamespace).toBe('other');
  });

  it('rejects a --leader-elect that is not a boolean, and a duration without a unit', () => {
    expect(() => parse(['--leader-elect', 'yes'])).toThrow(/--leader-elect: "yes" is not true or false/);
    expect(parse(['--leader-elect', 'false']).leaderElect).toBe(false);
    expect(() => parse(['--lease-duration', '15'])).toThrow(/--lease-duration: "15" is not a duration/);
    expect(parse(['--lease-duration', '1m30s']).leaseDuration).toBe(90_000);
  });

  it('needs --retry-period < --renew-deadline < --lease-duration', () => {
    expect(() => parse(['--renew-deadline', '20s'])).toThrow(
      /gatehouse operator: need --retry-period < --renew-deadline < --lease-duration/,
    );
  });

  it('--xds-tls is issued or nothing, and not together with --tls-cert', () => {
    expect(() => parse(['--xds-tls', 'self'])).toThrow(/--xds-tls: "self" is not one of issued/);
    expect(parse(['--xds-tls', 'issued']).xdsTls).toBe('issued');
    expect(() => parse(['--xds-tls', 'issued', '--tls-cert', 'c', '--tls-key', 'k'])).toThrow(/choose one/);
  });

  it('addresses are HOST:PORT, IPv6 in brackets', () => {
    expect(parse(['--extproc-address', '[fd00::1]:9443']).extprocAddress).toEqual({ host: 'fd00::1', port: 9443 });
    expect(() => parse(['--xds-address', 'gatehouse-xds'])).toThrow(/--xds-address: "gatehouse-xds" is not HOST:PORT/);
    expect(() => parse(['--xds-port', '70000'])).toThrow(/--xds-port: "70000" is not a port number/);
  });
});

describe('gatehouse compile options', () => {
  it('-f is required; -o is optional', () => {
    expect(() => parseOptions(compileCommand, [])).toThrow(/gatehouse compile: -f DIR is required/);
    expect(parseOptions(compileCommand, ['-f', 'examples'])).toEqual({ file: 'examples', output: undefined });
    expect(parseOptions(compileCommand, ['-f', 'x', '-o', 'out.json']).output).toBe('out.json');
  });
});
