/**
 * What prototype pollution would change: the own members of the intrinsics every object,
 * array and function inherits from (and of the functions on Object.prototype a merge can
 * reach through `toString`, `constructor` …). Taken before a hostile case and compared after.
 * The mocha process does not freeze them (the CLI does): a regression must show here.
 */
import { strict as assert } from 'node:assert'

/** The function object itself (a property read, not a method taken off its object). */
function member(o: object, key: string): object {
  return Reflect.get(o, key) as object
}

const INTRINSICS: Record<string, object> = {
  'Object.prototype': Object.prototype,
  Object,
  'Array.prototype': Array.prototype,
  Array,
  'Function.prototype': Function.prototype,
  'String.prototype': String.prototype,
  'Number.prototype': Number.prototype,
  'Boolean.prototype': Boolean.prototype,
  'Object.prototype.toString': member(Object.prototype, 'toString'),
  'Object.prototype.hasOwnProperty': member(Object.prototype, 'hasOwnProperty'),
  'Object.prototype.valueOf': member(Object.prototype, 'valueOf'),
  'Object.prototype.constructor': member(Object.prototype, 'constructor'),
}

export type IntrinsicsSnapshot = Record<string, string[]>

export function snapshotIntrinsics(): IntrinsicsSnapshot {
  const out: IntrinsicsSnapshot = {}
  for (const [name, o] of Object.entries(INTRINSICS)) {
    out[name] = Reflect.ownKeys(o).map(String).sort()
  }
  return out
}

/** Fails naming every member an intrinsic gained or lost since `before`. */
export function assertIntrinsicsUnchanged(before: IntrinsicsSnapshot): void {
  const now = snapshotIntrinsics()
  const changes: string[] = []
  for (const name of Object.keys(before)) {
    const was = new Set(before[name])
    const is = new Set(now[name])
    for (const k of is) if (!was.has(k)) changes.push(`${name} gained ${k}`)
    for (const k of was) if (!is.has(k)) changes.push(`${name} lost ${k}`)
  }
  assert.deepEqual(changes, [], `intrinsics changed: ${changes.join('; ')}`)
  // Nothing readable through an ordinary object either.
  const probe: Record<string, unknown> = {}
  for (const k of ['trust_chain', 'value', 'x', 'max_path_length', 'keys', 'kty']) assert.equal(probe[k], undefined, `({}).${k} is inherited`)
}
