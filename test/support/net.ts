/** A free loopback port (bound and released; tests start their servers right after). */
export { freePort } from '../../src/demo/leaf.js'
