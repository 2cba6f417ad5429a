/**
 * The scripted browser of the login and consent pages (src/demo/browser.ts: the demo and the
 * benchmark drive the pages with it too), for the tests.
 */
export { Browser, formAction, linkById, type Page } from '../../src/demo/browser.js'
