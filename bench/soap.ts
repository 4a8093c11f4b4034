// `npm run bench:soap`: CPU per request and streams/s of SOAPMessageValidation (SOAP 1.1 envelope,
// XSD from a WSDL's <types>) and XSLTransform (SOAP to JSON) on one typical SOAP request (about 1.5 KB),
// against the empty flow with the same request in the same run (docs/policies.md#xsltransform).
// CPU is the whole process's (process.cpuUsage: the driver thread, the event loop and the worker pool)
// divided by completed streams; the policies' cost is the difference to the empty flow's row. The
// extproc runs with its default worker pool, so the transform (always offloaded) pays the pool's round trip.
import { availableParallelism } from 'node:os';
import type { RuntimeSnapshot } from '../protos/gen/gatehouse/v1/RuntimeSnapshot.ts';
import {
  benchProxy,
  CONCURRENCY,
  DURATION_MS,
  measure,
  policy,
  printRows,
  startServer,
  WARMUP_MS,
} from './policy-vs-empty.ts';

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

function snapshot(): RuntimeSnapshot {
  const policies = {
    validate: policy('SOAPMessageValidation', {
      soapMessage: { version: '1.1' },
      resourceURL: 'wsdl://payments.wsdl',
      schema: wsdl,
    }),
    transform: policy('XSLTransform', { resourceURL: 'xsl://to-json.xsl', stylesheet: toJson }),
  };
  return {
    version: 'bench',
    proxies: [
      benchProxy('empty', policies, []),
      benchProxy('validate', policies, ['validate']),
      benchProxy('transform', policies, ['transform']),
      benchProxy('both', policies, ['validate', 'transform']),
    ],
  };
}

const request = (route: string) => ({
  method: 'POST',
  path: `/${route.split('/')[1]}/payments`,
  headers: [
    ['content-type', 'text/xml; charset=utf-8'],
    ['soapaction', 'urn:example:payments/SubmitPayment'],
    ['content-length', String(Buffer.byteLength(body))],
  ] as Array<[string, string]>,
  body,
});

const server = await startServer(snapshot());
process.stdout.write(
  `SOAP mediation bench: ${DURATION_MS / 1000}s per case after ${WARMUP_MS / 1000}s warm-up, ${CONCURRENCY} streams in flight, ` +
    `${availableParallelism()} cores, a ${Buffer.byteLength(body)}-byte SOAP 1.1 request; CPU = whole process per stream\n\n`,
);
const cases: Array<[string, string]> = [
  ['empty flow', 'bench/empty'],
  ['SOAPMessageValidation (WSDL XSD)', 'bench/validate'],
  ['XSLTransform (SOAP to JSON)', 'bench/transform'],
  ['both', 'bench/both'],
];
const rows = [];
for (const [name, route] of cases) rows.push(await measure(name, server.address, route, request(route)));
printRows(rows);
await server.close();
