// Building the page without innerHTML: every text from the API is set as text, never parsed as markup.

/**
 * An element: h('a', { href, class: 'x', onclick: fn }, 'text', child, [more]).
 * Attributes whose value is undefined, null or false are left out; true sets an empty one.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag)
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue
    if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value)
    else if (name === 'class') el.className = value
    else if (name === 'value') el.value = value
    else el.setAttribute(name, value === true ? '' : String(value))
  }
  append(el, children)
  return el
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue
    if (Array.isArray(c)) append(el, c)
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)))
  }
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove()
  return el
}

/** JSON shown as text, indented. */
export function json(value) {
  return h('pre', { class: 'json', tabindex: '0' }, JSON.stringify(value, null, 2))
}

/** A definition list of [term, value] pairs (values may be nodes). */
export function facts(pairs) {
  return h('dl', { class: 'facts' }, pairs.filter((p) => p[1] !== undefined).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]))
}

export function status(text) {
  return h('span', { class: `status ${String(text).replace(/[^a-z_-]/gi, '')}` }, text)
}

/** A table: headers and rows of cells (strings or nodes). */
export function table(caption, headers, rows) {
  return h('table', {},
    caption ? h('caption', {}, caption) : null,
    h('thead', {}, h('tr', {}, headers.map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c) => h('td', {}, c))))))
}

/** Epoch seconds or an ISO string as local ISO text. */
export function when(t) {
  if (t === undefined || t === null) return ''
  const d = typeof t === 'number' ? new Date(t * 1000) : new Date(t)
  return Number.isNaN(d.getTime()) ? String(t) : d.toISOString().replace('.000Z', 'Z')
}

/** The link of a console route: #/path?query. */
export function route(path, query = {}) {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') q.set(k, v)
  const s = q.toString()
  return `#/${path}${s ? `?${s}` : ''}`
}

/** Moves focus to a view's heading so keyboard and screen reader users land on the new content. */
export function focusHeading(main) {
  const heading = main.querySelector('h1')
  if (heading) {
    heading.setAttribute('tabindex', '-1')
    heading.focus()
  }
}
