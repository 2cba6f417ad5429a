/**
 * At most `n` tasks at once; the others wait in arrival order, at most `maxWaiting` of them
 * (e.g. password checks, accounts.ts): a caller asks `full` before `run` and refuses the task.
 */
export class Slots {
  private active = 0
  private readonly waiting: Array<() => void> = []

  constructor(private readonly n: number, private readonly maxWaiting = Infinity) {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`slots: ${n} is not a positive whole number`)
    if (maxWaiting !== Infinity && (!Number.isInteger(maxWaiting) || maxWaiting < 0)) throw new RangeError(`slots: ${maxWaiting} waiting is not a whole number`)
  }

  /** Every slot taken and `maxWaiting` tasks waiting: a task run now would wait beyond the bound. */
  get full(): boolean {
    return this.active >= this.n && this.waiting.length >= this.maxWaiting
  }

  /** Tasks running now, and waiting. */
  get load(): { active: number; waiting: number } {
    return { active: this.active, waiting: this.waiting.length }
  }

  /** The task at once when a slot is free; undefined (and nothing runs or waits) when none is. */
  tryRun<T>(task: () => Promise<T>): Promise<T> | undefined {
    return this.active < this.n ? this.run(task) : undefined
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active < this.n) this.active++
    else await new Promise<void>((resolve) => this.waiting.push(resolve))
    try {
      return await task()
    } finally {
      // The slot passes to the next waiting task, or is freed.
      const next = this.waiting.shift()
      if (next) next()
      else this.active--
    }
  }
}
