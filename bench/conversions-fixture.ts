// A typical order document of about `bytes`, as JSON and as XML (each grown to `bytes` on its own): the
// shape a SOAP-era backend answers (nested records, repeated lines, attributes, numbers and text), for
// bench/conversions.ts.
interface Line {
  sku: string;
  name: string;
  qty: number;
  price: number;
  gift: boolean;
}

const line = (i: number): Line => ({
  sku: `SKU-${i}`,
  name: `Item number ${i} of the order`,
  qty: (i % 7) + 1,
  price: 9.5 + i,
  gift: i % 2 === 0,
});

const asJson = (lines: Line[]) =>
  JSON.stringify({ order: { id: 'A-1042', customer: { name: 'Ada', city: 'Paris' }, line: lines } });

const asXml = (lines: Line[]) =>
  `<?xml version="1.0" encoding="UTF-8"?><order id="A-1042"><customer><name>Ada</name><city>Paris</city></customer>${lines
    .map(
      (l) =>
        `<line sku="${l.sku}"><name>${l.name}</name><qty>${l.qty}</qty><price>${l.price}</price><gift>${l.gift}</gift></line>`,
    )
    .join('')}</order>`;

function grow(bytes: number, render: (lines: Line[]) => string): string {
  const lines: Line[] = [];
  let text = render(lines);
  while (text.length < bytes) {
    lines.push(line(lines.length));
    text = render(lines);
  }
  return text;
}

export function createMessage(bytes: number): { json: string; xml: string } {
  return { json: grow(bytes, asJson), xml: grow(bytes, asXml) };
}
