/**
 * What registration (and the authorization server built on it) uses of the deployment it
 * runs in: the foundation's shared collaborators (src/foundation.ts). What this deployment
 * signs itself and the anchors it trusts come as ports (trust_chain/source.ts, anchors.ts).
 */
import type { Foundation } from '../foundation.js'

export type RegistrationDeps = Foundation
