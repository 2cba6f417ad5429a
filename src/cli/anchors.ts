/** `anchorage anchors list|refresh`: the pinned trust anchors, through the admin API. */
import { parse, UsageError, type IO } from './args.js'
import { adminClient, report, CONNECTION_OPTIONS, CONNECTION_HELP } from './admin_client.js'

export const ANCHORS_HELP = `Usage: anchorage anchors <list|refresh> [options]

  list                       the pinned trust anchors and the kids of their current pins
  refresh [--anchor URL] [--accept-kid KID]
        Fetch each pinned anchor's entity configuration (or only URL's) and, when it is
        signed by a pinned key, pin the key set it publishes (stored, audited). A
        configuration signed only by an unpinned key changes nothing, unless that key is
        accepted with --accept-kid (one anchor; compare its thumbprint out of band first).

${CONNECTION_HELP}
  --json          print raw JSON`

export async function anchorsCommand(argv: string[], io: IO): Promise<number> {
  const [action, ...rest] = argv
  const { values } = parse(rest, { ...CONNECTION_OPTIONS, anchor: { type: 'string' }, 'accept-kid': { type: 'string' } })
  if (values.help || !action || action.startsWith('-')) {
    io.stdout(ANCHORS_HELP)
    return action ? 0 : 2
  }
  const client = await adminClient(values, io)
  const render = (b: unknown) => (b as { anchors: Array<Record<string, unknown>> }).anchors.map(line).join('\n') || '(no pinned trust anchors)'
  switch (action) {
    case 'list':
      return report(io, await client.call('GET', '/admin/anchors'), values.json ? undefined : render)
    case 'refresh': {
      if (values['accept-kid'] && !values.anchor) throw new UsageError('anchors refresh: --accept-kid needs --anchor')
      const body = { ...(values.anchor ? { anchor: values.anchor } : {}), ...(values['accept-kid'] ? { accept_kid: values['accept-kid'] } : {}) }
      return report(io, await client.call('POST', '/admin/anchors/refresh', body), values.json ? undefined : render)
    }
    default:
      throw new UsageError(`anchors: unknown action "${action}"`)
  }
}

function line(a: Record<string, unknown>): string {
  const text = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v))
  if (a.error !== undefined) return `${text(a.entity_id)}  ${text(a.error)}: ${text(a.error_description)}`
  const state = a.changed === undefined ? '' : a.changed ? '  updated' : '  unchanged'
  return `${text(a.entity_id)}  ${(a.kids as unknown[]).map(text).join(', ')}${state}`
}
