// A modal confirmation (<dialog>): says what the action will stop, focus trapped by the
// browser, Escape or Cancel answers no.
import { h } from './dom.js'

export function confirmAction(title, lines, confirmLabel) {
  return new Promise((resolve) => {
    const headingId = `dialog-${Date.now()}`
    const dialog = h('dialog', { 'aria-labelledby': headingId, 'data-testid': 'confirm' },
      h('h2', { id: headingId }, title),
      lines.filter(Boolean).map((l) => h('p', {}, l)),
      h('form', { method: 'dialog', class: 'actions' },
        h('button', { value: 'cancel', class: 'secondary', autofocus: true }, 'Cancel'),
        h('button', { value: 'confirm', class: 'danger' }, confirmLabel)))
    dialog.addEventListener('close', () => {
      resolve(dialog.returnValue === 'confirm')
      dialog.remove()
    })
    document.body.append(dialog)
    dialog.showModal()
  })
}
