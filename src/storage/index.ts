/** Storage: the adapter contract and the adapters. Domain code imports from here only. */
export * from './types.js'

// Embedded (default): one local directory, journal + snapshot. See docs/storage.md.
export { createEmbeddedStore } from './embedded.js'
export type { EmbeddedStore, EmbeddedStoreOptions, EmbeddedStoreStats } from './embedded.js'

// MongoDB (production): the MongoDB adapter's engineer adds its exports here, e.g.
//   export { createMongoStore } from './mongodb.js'
//   export type { MongoStore, MongoStoreOptions } from './mongodb.js'
// (a static re-export loads the mongodb driver with this module; open.ts imports lazily).
export { createMongoStore } from './mongodb.js'
