// `npm run bench:soap`: CPU per request and streams/s of SOAPMessageValidation (SOAP 1.1 envelope,
// XSD from a WSDL's <types>) and XSLTransform (SOAP to JSON) on one typical SOAP request (about 1.5 KB),
// against the empty flow with the same request in the same run (docs/policies.md#xsltransform).
// CPU is the whole process's (process.cpuUsage: the driver thread, the event loop and the worker pool)
// divided by completed streams; the policies' cost is the difference to the empty flow's row. The
// extproc runs with its default worker pool, so the transform (always offloaded) pays the pool's round trip.
import { availableParallelism } from 'node:os';
import { pino } from 'pino';
import type { RuntimeSnapshot } from '../protos/gen/gatehouse/v1/RuntimeSnapshot.ts';
import { SnapshotStore } from '../extproc/src/config/snapshot-store.ts';
import { createExtprocServer } from '../extproc/src/server/server.ts';
import { buildSnapshot } from '../extproc/src/server/test-server.test-support.ts';
import { createMemoryStores } from '../extproc/src/stores/memory.ts';
import { percentile, runWorker } from './load-driver.ts';

const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 5_000);
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 1_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);

const wsdl = `<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:xs="http://www.w3.org/2001/XMLSchema"
    xmlns:tns="urn:example:payments" targetNamespace="urn:example:payments">
  <wsdl:types>
    <xs:schema targetNamespace="urn:example:payments" elementFormDefault="qualified">
      <xs:element name="SubmitPayment"><xs:complexType><xs:sequence>
        <xs:element name="Debtor" type="tns:Party"/>
        <xs:element name="Creditor" type="tns:Party"/>
        <xs:element name="Amount" type="tns:Amount"/>
        <xs:element name="Reference" type="xs:string"/>
        <xs:element name="ExecutionDate" type="xs:date"/>
        <xs:element name="Remittance" type="xs:string" minOccurs="0" maxOccurs="4"/>
      </xs:sequence></xs:complexType></xs:element>
      <xs:complexType name="Party"><xs:sequence>
        <xs:element name="Name" type="xs:string"/>
        <xs:element name="IBAN"><xs:simpleType><xs:restriction base="xs:string"><xs:pattern value="[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}"/></xs:restriction></xs:simpleType></xs:element>
        <xs:element name="BIC" type="xs:string"/>
      </xs:sequence></xs:complexType>
      <xs:complexType name="Amount"><xs:simpleContent><xs:extension base="xs:decimal">
        <xs:attribute name="currency" type="xs:string" use="required"/>
      </xs:extension></xs:simpleContent></xs:complexType>
    </xs:schema>
  </wsdl:types>
</wsdl:definitions>`;

const toJson = `<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:p="urn:example:payments" exclude-result-prefixes="soap p">
  <xsl:output method="text"/>
  <xsl:template match="/">
    <xsl:apply-templates select="soap:Envelope/soap:Body/p:SubmitPayment"/>
  </xsl:template>
  <xsl:template match="p:SubmitPayment">{"debtor":{"name":"<xsl:value-of select="p:Debtor/p:Name"/>","iban":"<xsl:value-of select="p:Debtor/p:IBAN"/>"},"creditor":{"name":"<xsl:value-of select="p:Creditor/p:Name"/>","iban":"<xsl:value-of select="p:Creditor/p:IBAN"/>"},"amount":<xsl:value-of select="number(p:Amount)"/>,"currency":"<xsl:value-of select="p:Amount/@currency"/>","reference":"<xsl:value-of select="p:Reference"/>","date":"<xsl:value-of select="p:ExecutionDate"/>","remittance":[<xsl:for-each select="p:Remittance">"<xsl:value-of select="."/>"<xsl:if test="position() != last()">,</xsl:if></xsl:for-each>]}</xsl:template>
</xsl:stylesheet>`;

const party = (name: string, iban: string, bic: string) => `<Name>${name}</Name><IBAN>${iban}</IBAN><BIC>${bic}</BIC>`;
const body = `<?xml version="1.0" encoding="UTF-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">
  <soap:Header>
    <wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">
      <wsse:UsernameToken><wsse:Username>teller-042</wsse:Username></wsse:UsernameToken>
    </wsse:Security>
  </soap:Header>
  <soap:Body>
    <SubmitPayment xmlns="urn:example:payments">
      <Debtor>${party('Ada Lovelace', 'GB82WEST12345698765432', 'WESTGB2L')}</Debtor>
      <Creditor>${party('Charles Babbage', 'DE89370400440532013000', 'COBADEFFXXX')}</Creditor>
      <Amount currency="EUR">1250.75</Amount>
      <Reference>INV-2026-000123</Reference>
      <ExecutionDate>2026-12-02</ExecutionDate>
      <Remittance>Invoice 123, analytical engine parts</Remittance>
      <Remittance>Second instalment of four</Remittance>
    </SubmitPayment>
  </soap:Body>
</soap:Envelope>`;

const policy = (type: string, config: unknown) => ({ type, enabled: true, configJson: JSON.stringify(config) });

function snapshot(): RuntimeSnapshot {
  const proxy = (name: string, steps: string[]) => ({
    namespace: 'bench',
    name,
    route: `bench/${name}`,
    basePath: `/${name}`,
    policies: {
      validate: policy('SOAPMessageValidation', {
        soapMessage: { version: '1.1' },
        resourceURL: 'wsdl://payments.wsdl',
        schema: wsdl,
      }),
      transform: policy('XSLTransform', { resourceURL: 'xsl://to-json.xsl', stylesheet: toJson }),
    },
    flows: { preFlow: { request: steps.map((p) => ({ policy: p })) } },
  });
  return {
    version: 'bench',
    proxies: [
      proxy('empty', []),
      proxy('validate', ['validate']),
      proxy('transform', ['transform']),
      proxy('both', ['validate', 'transform']),
    ],
  };
}

interface Row {
  name: string;
  rate: number;
  cpuUsPerRequest: number;
  p50: number;
  p99: number;
  statuses: Record<string, number>;
}

async function measure(name: string, address: string, route: string): Promise<Row> {
  const before = process.cpuUsage();
  const r = await runWorker({
    address,
    route,
    concurrency: CONCURRENCY,
    durationMs: DURATION_MS,
    warmupMs: WARMUP_MS,
    request: {
      method: 'POST',
      path: `/${route.split('/')[1]}/payments`,
      headers: [
        ['content-type', 'text/xml; charset=utf-8'],
        ['soapaction', 'urn:example:payments/SubmitPayment'],
        ['content-length', String(Buffer.byteLength(body))],
      ],
      body,
    },
  });
  const cpu = process.cpuUsage(before);
  const sorted = r.latenciesMs.sort((a, b) => a - b);
  // cpuUsage spans warm-up and measurement; so do the streams counted here (completed + warm-up ones
  // are not reported apart), so the per-request figure uses the measured rate over the whole run time.
  const streams = (r.completed / DURATION_MS) * (DURATION_MS + WARMUP_MS);
  return {
    name,
    rate: r.completed / (DURATION_MS / 1000),
    cpuUsPerRequest: (cpu.user + cpu.system) / streams,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    statuses: r.statuses,
  };
}

const store = new SnapshotStore();
store.apply(buildSnapshot(snapshot()));
const stores = createMemoryStores();
const gatehouse = createExtprocServer({ snapshots: store, stores, log: pino({ level: 'silent' }) });
const port = await gatehouse.listen('127.0.0.1', 0);
const address = `127.0.0.1:${port}`;

process.stdout.write(
  `SOAP mediation bench: ${DURATION_MS / 1000}s per case after ${WARMUP_MS / 1000}s warm-up, ${CONCURRENCY} streams in flight, ` +
    `${availableParallelism()} cores, a ${Buffer.byteLength(body)}-byte SOAP 1.1 request; CPU = whole process per stream\n\n`,
);
const rows: Row[] = [];
rows.push(await measure('empty flow', address, 'bench/empty'));
rows.push(await measure('SOAPMessageValidation (WSDL XSD)', address, 'bench/validate'));
rows.push(await measure('XSLTransform (SOAP to JSON)', address, 'bench/transform'));
rows.push(await measure('both', address, 'bench/both'));

const base = rows[0]!;
process.stdout.write(
  `${'case'.padEnd(34)} ${'streams/s'.padStart(10)} ${'CPU us/req'.padStart(11)} ${'+us vs empty'.padStart(13)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)}  statuses\n`,
);
for (const row of rows) {
  const delta = row.cpuUsPerRequest - base.cpuUsPerRequest;
  const extra = row === base ? '' : `${delta >= 0 ? '+' : ''}${delta.toFixed(0)}`;
  process.stdout.write(
    `${row.name.padEnd(34)} ${row.rate.toFixed(0).padStart(10)} ${row.cpuUsPerRequest.toFixed(0).padStart(11)} ${extra.padStart(13)} ${row.p50.toFixed(2).padStart(8)} ${row.p99.toFixed(2).padStart(8)}  ${JSON.stringify(row.statuses)}\n`,
  );
}

await gatehouse.shutdown(1000);
await stores.close();
