/**
 * The entity identifiers of a configuration file are held to the rule for what this deployment
 * stores and signs (src/entity_id.ts): canonical, https unless http is allowed.
 */
import { entityIdProblem } from '../entity_id.js'
import type { ConfigFile } from './load.js'

/** `field: reason` for each identifier that breaks the rule. */
export function configIdentifierProblems(cfg: ConfigFile, allowHttp: boolean): string[] {
  const ids: Array<[field: string, id: string]> = [
    // An http entity_id is governed by "development" alone (checked before this).
    ['entity_id', cfg.entity_id],
    ...(cfg.authority_hints ?? []).map((h, i): [string, string] => [`authority_hints[${i}]`, h]),
    ...(cfg.trust_anchor_hints ?? []).map((h, i): [string, string] => [`trust_anchor_hints[${i}]`, h]),
    ...(cfg.trust_anchors ?? []).map((a, i): [string, string] => [`trust_anchors[${i}].entity_id`, a.entity_id]),
  ]
  const out: string[] = []
  for (const [field, id] of ids) {
    const problem = entityIdProblem(id, { allowHttp: field === 'entity_id' || allowHttp })
    if (problem) out.push(`${field}: ${problem}`)
  }
  return out
}
