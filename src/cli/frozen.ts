/** Imported first by the process entry (run.ts): freezes the intrinsics before anything else loads (harden.ts). */
import { freezeIntrinsics } from './harden.js'

freezeIntrinsics()
