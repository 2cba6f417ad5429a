/** Time source for every `iat`/`exp` decision. Seconds since the epoch. */
export interface Clock {
  now(): number
}

export const systemClock: Clock = Object.freeze({ now: () => Math.floor(Date.now() / 1000) })

/** A clock tests can move. */
export class ManualClock implements Clock {
  constructor(private t: number = Math.floor(Date.now() / 1000)) {}
  now(): number {
    return this.t
  }
  set(t: number): void {
    this.t = t
  }
  advance(seconds: number): void {
    this.t += seconds
  }
}
