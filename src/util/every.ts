/** A periodic task's timer: runs `tick` every `ms`; returns the stop function (injected in tests). */
export type Every = (ms: number, tick: () => void) => () => void

/**
 * setInterval, unref'd. The first run lands at a random point of the interval's second half,
 * so deployments started together do not all run at the same moment, and none runs right at start.
 */
export const realEvery: Every = (ms, tick) => {
  let timer: NodeJS.Timeout = setTimeout(() => {
    tick()
    timer = setInterval(tick, ms)
    timer.unref()
  }, Math.floor(ms / 2 + Math.random() * (ms / 2)))
  timer.unref()
  return () => clearTimeout(timer)
}
