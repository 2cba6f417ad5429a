/**
 * "Did you mean ...?" for a mistyped word: the closest of the known words by edit distance
 * (Damerau-Levenshtein, adjacent transpositions counting one), when it is close enough to be
 * a typo: at most one edit for short words, a third of the word's length for longer ones.
 * Words compared are bounded (a command line's or a configuration's names), so is the work.
 */

/** Beyond this length no suggestion is made (the quadratic table stays small). */
const MAX_LENGTH = 64

/** The known word closest to `word`, or undefined when none is close enough. */
export function closest(word: string, known: Iterable<string>): string | undefined {
  if (word.length === 0 || word.length > MAX_LENGTH) return undefined
  const limit = Math.max(1, Math.floor(word.length / 3))
  let best: string | undefined
  let bestDistance = Infinity
  for (const k of known) {
    if (k === word || k.length > MAX_LENGTH || Math.abs(k.length - word.length) > limit) continue
    const d = distance(word.toLowerCase(), k.toLowerCase())
    if (d <= limit && d < bestDistance) {
      best = k
      bestDistance = d
    }
  }
  return best
}

/** ` (did you mean X?)` or the empty string. */
export function didYouMean(word: string, known: Iterable<string>, format: (k: string) => string = (k) => k): string {
  const k = closest(word, known)
  return k === undefined ? '' : ` (did you mean ${format(k)}?)`
}

/** Optimal string alignment distance: insertions, deletions, substitutions, adjacent swaps. */
export function distance(a: string, b: string): number {
  const rows = a.length + 1
  const cols = b.length + 1
  const d: number[] = new Array<number>(rows * cols).fill(0)
  for (let i = 0; i < rows; i++) d[i * cols] = i
  for (let j = 0; j < cols; j++) d[j] = j
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let v = Math.min(d[(i - 1) * cols + j]! + 1, d[i * cols + j - 1]! + 1, d[(i - 1) * cols + j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[(i - 2) * cols + j - 2]! + 1)
      d[i * cols + j] = v
    }
  }
  return d[rows * cols - 1]!
}
