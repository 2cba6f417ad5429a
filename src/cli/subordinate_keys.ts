/**
 * `anchorage subordinate refresh|pending|approve|reject`: the subordinate key refresh
 * through the admin API (docs/admin-api.md, "Subordinate key refresh").
 */
import { UsageError, type IO } from './args.js'
import { report, enc, scalar, type AdminClient } from './admin_client.js'

export const SUBORDINATE_KEYS_HELP = `  refresh ENTITY_ID | --all
        Re-read the member's entity configuration (or every member's). New keys signed
        by a key this entity vouches for are taken (statement re-signed); keys signed
        only by an unknown key are held as pending for approve/reject.
  pending                          key changes waiting for the operator
  approve ENTITY_ID | reject ENTITY_ID
        Take the member's pending keys, or drop them (not proposed again).`

export const SUBORDINATE_KEY_ACTIONS: ReadonlySet<string> = new Set(['refresh', 'pending', 'approve', 'reject'])

export async function subordinateKeysAction(
  action: string, id: string | undefined, values: { all?: boolean | undefined; json?: boolean | undefined }, client: AdminClient, io: IO,
): Promise<number> {
  const text = !values.json
  if (action === 'pending') {
    return report(io, await client.call('GET', '/admin/subordinates/pending'), text ? (b) => renderPending(b as { items: PendingItem[] }) : undefined)
  }
  if (action === 'refresh') {
    if (Boolean(values.all) === Boolean(id)) throw new UsageError('subordinate refresh: give ENTITY_ID or --all (not both)')
    const res = await client.call('POST', '/admin/subordinates/refresh', values.all ? { all: true } : { entity_id: id })
    return report(io, res, text ? (b) => renderOutcomes(values.all ? (b as { items: Outcome[] }).items : [b as Outcome]) : undefined)
  }
  if (!id) throw new UsageError(`subordinate ${action}: ENTITY_ID is required`)
  return report(io, await client.call('POST', `/admin/subordinates/${enc(id)}/${action}`))
}

interface Outcome { entity_id: unknown; outcome: unknown; kids?: unknown; error?: unknown }
interface PendingItem { entity_id: unknown; kids: unknown; pending_keys: { kids: unknown; signed_with: unknown; seen_at: unknown } }

function renderOutcomes(items: Outcome[]): string {
  return items.map((o) => `${scalar(o.outcome).padEnd(16)} ${scalar(o.entity_id)}${o.kids ? ` ${scalar(o.kids)}` : ''}${o.error ? `: ${scalar(o.error)}` : ''}`).join('\n') || '(no subordinates)'
}

function renderPending(b: { items: PendingItem[] }): string {
  return b.items.map((p) => `${scalar(p.entity_id)}  current ${scalar(p.kids)}  pending ${scalar(p.pending_keys.kids)} (signed with ${scalar(p.pending_keys.signed_with)}, seen ${new Date(Number(p.pending_keys.seen_at) * 1000).toISOString()})`).join('\n') || '(no pending key changes)'
}
