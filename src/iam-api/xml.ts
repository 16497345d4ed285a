/**
 * The few XML shapes the Query protocol answers with, written by hand: every response is one
 * fixed tree of elements with text leaves (no attributes but the root's namespace, no mixed
 * content, nothing to parse), so a dozen lines of escaping serve where a library's builder would
 * add a dependency and options to get right. Element order is the order of the object's keys,
 * which AWS's own responses fix and the SDKs do not depend on.
 */

/** A leaf's text, an element's children by name, or repeated elements (an array, e.g. `member`). */
export type XmlValue = string | number | boolean | undefined | XmlObject | readonly XmlValue[];
export interface XmlObject {
  readonly [name: string]: XmlValue;
}

/** `<root xmlns="namespace">…</root>`. Undefined values are left out. */
export function xmlDocument(root: string, namespace: string, children: XmlObject): string {
  return `<${root} xmlns="${escapeXml(namespace)}">${renderChildren(children)}</${root}>`;
}

function renderChildren(children: XmlObject): string {
  let out = '';
  for (const [name, value] of Object.entries(children)) out += renderElement(name, value);
  return out;
}

function renderElement(name: string, value: XmlValue): string {
  if (value === undefined) return '';
  if (Array.isArray(value)) return value.map((item: XmlValue) => renderElement(name, item)).join('');
  if (typeof value === 'object') return `<${name}>${renderChildren(value as XmlObject)}</${name}>`;
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}

/**
 * Text fit for an element or an attribute value. Characters XML 1.0 forbids even as references
 * (controls other than tab, newline and return; lone surrogates; U+FFFE/U+FFFF) become U+FFFD:
 * error messages may quote a caller's input, and one stray byte must not make the document unparsable.
 */
export function escapeXml(text: string): string {
  return text
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '\uFFFD')
    .replace(/[&<>"]/g, (c) => ENTITIES[c]!);
}

// '>' only matters in ']]>' and '"' only in attribute values; escaping both keeps one function for both.
const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };
