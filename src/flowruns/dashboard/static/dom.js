// Building DOM nodes without HTML strings: every text goes in through text nodes, so nothing the
// API returns is ever parsed as markup.

const SVG_NS = 'http://www.w3.org/2000/svg'; // a namespace name, not a resource that is fetched

function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : String(child));
  }
  return parent;
}

function setAttributes(element, attributes) {
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      element.addEventListener(name.slice(2), value);
    } else if (name === 'dataset') {
      Object.assign(element.dataset, value);
    } else {
      element.setAttribute(name, value === true ? '' : String(value));
    }
  }
  return element;
}

/** An HTML element: h('a', {href: '#/runs'}, 'Runs'). */
export function h(tag, attributes, ...children) {
  return append(setAttributes(document.createElement(tag), attributes), children);
}

/** Replace an element's children; null, undefined and false are skipped, arrays flattened. */
export function replace(element, ...children) {
  element.replaceChildren();
  return append(element, children);
}

/** An SVG element, attributes and children as for h(). */
export function s(tag, attributes, ...children) {
  return append(setAttributes(document.createElementNS(SVG_NS, tag), attributes), children);
}

let lastId = 0;

/** A document-unique id for aria-labelledby and label[for]. */
export function uniqueId(prefix) {
  lastId += 1;
  return `${prefix}-${lastId}`;
}
