/** The interaction pages' only style sheet, served from a fixed path (no inline styles: the CSP allows 'self' only). */
export const INTERACTION_CSS = `
:root { color-scheme: light dark; --accent: #1f5fa8; --muted: #666; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: Canvas; color: CanvasText; }
main { max-width: 32rem; margin: 3rem auto; padding: 1.5rem 2rem; border: 1px solid #8884; border-radius: 8px; }
h1 { font-size: 1.4rem; margin: 0 0 1rem; }
h2 { font-size: 1rem; margin: 1.25rem 0 .4rem; }
label { display: block; margin: .75rem 0 .25rem; font-weight: 600; }
input[type=text], input[type=password] { width: 100%; padding: .5rem; font: inherit; border: 1px solid #8888; border-radius: 4px; }
.button, button { display: inline-block; padding: .55rem 1.1rem; margin: 1rem .5rem 0 0; font: inherit; border-radius: 4px; border: 1px solid var(--accent); background: transparent; color: var(--accent); text-decoration: none; cursor: pointer; }
.primary { background: var(--accent); color: #fff; }
.sso { display: block; text-align: center; margin: 0 0 1rem; }
.divider { text-align: center; color: var(--muted); margin: 1rem 0 0; }
.error { padding: .6rem .8rem; border-radius: 4px; background: #c0392b22; border: 1px solid #c0392b; }
.client { display: flex; gap: 1rem; align-items: center; }
.client img { width: 64px; height: 64px; object-fit: contain; }
.muted { color: var(--muted); font-size: .9rem; word-break: break-all; }
ol.chain, ul { margin: .2rem 0; padding-left: 1.4rem; word-break: break-all; }
.warning { color: #c0392b; }
form.inline { display: inline; }
`
