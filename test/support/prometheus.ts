/**
 * A strict parser of the Prometheus text exposition format (version 0.0.4): every line is a
 * HELP, a TYPE, a comment or a sample; names, label names and escapes as the format says; a
 * family's TYPE before its samples and its samples together; no series twice; histograms
 * with cumulative buckets ending in le="+Inf" equal to _count, and _sum. Throws on anything else.
 */
export interface Sample { name: string; labels: Record<string, string>; value: number }
export interface Family { name: string; type: string; help?: string; samples: Sample[] }

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped'])
const SUFFIXES: Record<string, string[]> = { histogram: ['_bucket', '_sum', '_count'], summary: ['', '_sum', '_count'], counter: [''], gauge: [''], untyped: [''] }

export function parsePrometheus(text: string): Map<string, Family> {
  const families = new Map<string, Family>()
  const finished = new Set<string>()
  const series = new Set<string>()
  let current: Family | undefined
  if (text.length && !text.endsWith('\n')) throw new Error('the exposition must end with a line feed')
  const lines = text.split('\n')
  lines.pop()
  lines.forEach((line, i) => {
    const at = `line ${i + 1}: ${JSON.stringify(line)}`
    if (line === '') return
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line)
      if (!m) {
        if (/^# ?(HELP|TYPE)\b/.test(line)) throw new Error(`${at}: malformed ${line.slice(2, 6)}`)
        return // a comment
      }
      const [, kind, name, rest = ''] = m
      if (!METRIC_NAME.test(name!)) throw new Error(`${at}: bad metric name`)
      const fam = family(name!, at)
      if (kind === 'HELP') {
        if (fam.help !== undefined) throw new Error(`${at}: second HELP`)
        fam.help = unescape(rest, false, at)
      } else {
        if (fam.type !== 'untyped' || fam.samples.length) throw new Error(`${at}: TYPE after samples or twice`)
        if (!TYPES.has(rest)) throw new Error(`${at}: unknown type`)
        fam.type = rest
      }
      return
    }
    const s = sample(line, at)
    const fam = owner(s.name)
    if (!fam) throw new Error(`${at}: a sample of no declared family`)
    if (current !== fam) {
      if (current) finished.add(current.name)
      if (finished.has(fam.name)) throw new Error(`${at}: the samples of ${fam.name} are not together`)
      current = fam
    }
    const key = s.name + JSON.stringify(Object.entries(s.labels).sort())
    if (series.has(key)) throw new Error(`${at}: series given twice`)
    series.add(key)
    fam.samples.push(s)
  })
  for (const fam of families.values()) if (fam.type === 'histogram') checkHistogram(fam)
  return families

  function family(name: string, at: string): Family {
    let fam = families.get(name)
    if (!fam) {
      if (finished.has(name) || current?.name === name) throw new Error(`${at}: metadata after samples`)
      fam = { name, type: 'untyped', samples: [] }
      families.set(name, fam)
    }
    return fam
  }

  function owner(name: string): Family | undefined {
    for (const fam of families.values()) {
      for (const suffix of SUFFIXES[fam.type]!) if (name === fam.name + suffix) return fam
    }
    return undefined
  }
}

function sample(line: string, at: string): Sample {
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? ([^ ]+)(?: (-?\d+))?$/.exec(line)
  if (!m) throw new Error(`${at}: not a sample`)
  const labels: Record<string, string> = Object.create(null) as Record<string, string>
  if (m[2]) {
    let rest = m[2].slice(1, -1)
    while (rest.length) {
      const l = /^([^=]*)="((?:[^"\\]|\\.)*)"(,?)/.exec(rest)
      if (!l) throw new Error(`${at}: bad labels`)
      if (!LABEL_NAME.test(l[1]!) || l[1]!.startsWith('__')) throw new Error(`${at}: bad label name ${l[1]}`)
      if (l[1]! in labels) throw new Error(`${at}: label ${l[1]} twice`)
      labels[l[1]!] = unescape(l[2]!, true, at)
      rest = rest.slice(l[0].length)
      if (!l[3] && rest.length) throw new Error(`${at}: labels not separated by commas`)
    }
  }
  return { name: m[1]!, labels, value: number(m[3]!, at) }
}

function number(s: string, at: string): number {
  if (s === 'NaN') return NaN
  if (s === '+Inf' || s === 'Inf') return Infinity
  if (s === '-Inf') return -Infinity
  if (!/^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/.test(s)) throw new Error(`${at}: bad value ${s}`)
  return Number(s)
}

function unescape(s: string, quotes: boolean, at: string): string {
  return s.replace(/\\(.)/g, (_, c: string) => {
    if (c === '\\') return '\\'
    if (c === 'n') return '\n'
    if (c === '"' && quotes) return '"'
    throw new Error(`${at}: bad escape \\${c}`)
  })
}

function checkHistogram(fam: Family): void {
  const groups = new Map<string, { buckets: Array<[number, number]>; sum?: number; count?: number }>()
  for (const s of fam.samples) {
    const { le, ...rest } = s.labels
    const key = JSON.stringify(Object.entries(rest).sort())
    let g = groups.get(key)
    if (!g) groups.set(key, (g = { buckets: [] }))
    if (s.name.endsWith('_bucket')) {
      if (le === undefined) throw new Error(`${fam.name}: a bucket without le`)
      g.buckets.push([number(le, fam.name), s.value])
    } else if (le !== undefined) throw new Error(`${fam.name}: le on ${s.name}`)
    else if (s.name.endsWith('_sum')) g.sum = s.value
    else g.count = s.value
  }
  for (const [key, g] of groups) {
    if (g.sum === undefined || g.count === undefined) throw new Error(`${fam.name}${key}: _sum or _count missing`)
    for (let i = 1; i < g.buckets.length; i++) {
      if (!(g.buckets[i]![0] > g.buckets[i - 1]![0])) throw new Error(`${fam.name}${key}: buckets not in increasing le`)
      if (g.buckets[i]![1] < g.buckets[i - 1]![1]) throw new Error(`${fam.name}${key}: buckets not cumulative`)
    }
    const last = g.buckets.at(-1)
    if (!last || last[0] !== Infinity || last[1] !== g.count) throw new Error(`${fam.name}${key}: le="+Inf" missing or not _count`)
  }
}

/** The sum of the series `name` having `labels` among their labels (0 when none). */
export function valueOf(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  let total = 0
  for (const fam of families.values()) {
    for (const s of fam.samples) {
      if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) total += s.value
    }
  }
  return total
}
