/** Slots (src/util/slots.ts): at most n tasks at once, the rest in arrival order, a failure frees its slot. */
import { strict as assert } from 'node:assert'
import { Slots } from '../../../src/util/slots.js'

describe('Slots: a bound on tasks running at once', () => {
  it('runs at most n at once, starts the others in arrival order as slots free, and passes results and failures through', async () => {
    const slots = new Slots(2)
    const started: number[] = []
    const release: Array<(ok: boolean) => void> = []
    const results = Array.from({ length: 5 }, (_, i) => slots.run(() => {
      started.push(i)
      return new Promise<number>((resolve, reject) => release.push((ok) => (ok ? resolve(i) : reject(new Error(`task ${i}`)))))
    }).catch((err: Error) => err.message))
    const settle = () => new Promise((r) => setImmediate(r))
    await settle()
    assert.deepEqual([started, slots.load], [[0, 1], { active: 2, waiting: 3 }])
    release[1]!(false) // a failure frees its slot too
    await settle()
    assert.deepEqual(started, [0, 1, 2])
    release[0]!(true)
    await settle()
    assert.deepEqual(started, [0, 1, 2, 3])
    release[2]!(true)
    release[3]!(true)
    await settle()
    assert.deepEqual(started, [0, 1, 2, 3, 4])
    release[4]!(true)
    assert.deepEqual(await Promise.all(results), [0, 'task 1', 2, 3, 4])
    assert.deepEqual(slots.load, { active: 0, waiting: 0 })
  })

  it('tryRun: runs at once while a slot is free, else nothing runs or waits', async () => {
    const slots = new Slots(1)
    let release: () => void = () => undefined
    const first = slots.tryRun(() => new Promise<string>((r) => (release = () => r('first'))))
    assert.ok(first)
    let ran = false
    assert.equal(slots.tryRun(async () => { ran = true }), undefined)
    assert.deepEqual(slots.load, { active: 1, waiting: 0 })
    release()
    assert.equal(await first, 'first')
    assert.equal(await slots.tryRun(async () => 'next'), 'next')
    assert.equal(ran, false)
  })

  it('refuses a bound that is not a positive whole number', () => {
    for (const n of [0, -1, 1.5, Number.NaN]) assert.throws(() => new Slots(n), RangeError)
  })
})
