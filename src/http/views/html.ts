/**
 * HTML from templates in code, escaped by construction: `html` is a tagged template whose
 * interpolations are escaped unless they are Html built by `html` itself (or arrays of it).
 * Everything shown on the interaction pages that comes from elsewhere (client metadata,
 * resolved through the federation, is written by the client) passes through `escapeHtml`.
 */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;', '=': '&#61;' }

/** Text for an HTML text node or a quoted attribute value. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"'`=]/g, (c) => ESCAPES[c]!)
}

type Part = Html | string | number | undefined | null | false | readonly Part[]

function render(v: Part): string {
  if (v === undefined || v === null || v === false) return ''
  if (v instanceof Html) return v.text
  if (Array.isArray(v)) return (v as readonly Part[]).map(render).join('')
  return escapeHtml(String(v))
}

export function html(strings: TemplateStringsArray, ...values: Part[]): Html {
  let out = strings[0]!
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1]!
  return new Html(out)
}
