// The federation below this entity: its members a page at a time (never the whole roster:
// usable at 100,000 members), searched by entity id prefix and filtered by status, entity
// type and role (intermediate or leaf), with a jump to any member by entity id.
import { h, route, status, table } from './dom.js'
import { api, can } from './api.js'

const PAGE = 50

export async function render(main, params, { session }) {
  const statusFilter = ['active', 'suspended', 'pending'].includes(params.status) ? params.status : ''
  const filters_ = {
    status: statusFilter,
    q: params.q ?? '',
    entity_type: params.entity_type ?? '',
    intermediate: ['true', 'false'].includes(params.intermediate) ? params.intermediate : '',
  }
  // Cursors of the pages before this one (for Previous), comma-separated in the route.
  const trail = params.trail ? params.trail.split(',').filter(Boolean).map(decodeURIComponent) : []
  // At most the last 20 pages are remembered (a route stays short however deep the paging goes).
  const trailText = (t) => t.slice(-20).map(encodeURIComponent).join(',')
  const after = params.after ?? ''
  const pageNo = after && /^[1-9][0-9]{0,6}$/.test(params.p ?? '') ? Number(params.p) : 0
  const page = await api('GET', 'subordinates', { query: { limit: PAGE, ...filters_, after } })
  const items = Array.isArray(page.body.items) ? page.body.items : []

  main.append(h('h1', {}, 'Members'))
  main.append(h('ul', { class: 'tree root', 'aria-label': 'This entity' },
    h('li', {}, h('strong', {}, session.entity_id ?? 'this entity'), ' ', h('span', { class: 'help' }, '(this entity: members below are its subordinates)'))))

  const jump = h('form', { class: 'filters card', role: 'search', 'aria-label': 'Find a member',
    onsubmit: (e) => {
      e.preventDefault()
      const id = jump.querySelector('#member-id').value.trim()
      if (id) location.hash = route(`members/${encodeURIComponent(id)}`)
    } },
  h('div', {}, h('label', { for: 'member-id' }, 'Entity id'), h('input', { id: 'member-id', type: 'search', placeholder: 'https://member.example.org', spellcheck: 'false' })),
  h('button', { type: 'submit' }, 'Open member'))
  main.append(jump)

  const filters = h('form', { class: 'filters', role: 'search', 'aria-label': 'Search and filter members',
    onsubmit: (e) => {
      e.preventDefault()
      const v = (id) => filters.querySelector(`#${id}`).value.trim()
      location.hash = route('members', { q: v('q'), status: v('status'), entity_type: v('entity_type'), intermediate: v('intermediate') })
    } },
  h('div', {}, h('label', { for: 'q' }, 'Entity id starts with'), h('input', { id: 'q', type: 'search', value: filters_.q, placeholder: 'acme or https://acme.example', spellcheck: 'false' })),
  select('status', 'Status', filters_.status, [['', 'any'], ['active', 'active'], ['suspended', 'suspended'], ['pending', 'key change pending']]),
  h('div', {}, h('label', { for: 'entity_type' }, 'Entity type'), h('input', { id: 'entity_type', type: 'text', value: filters_.entity_type, placeholder: 'openid_relying_party', spellcheck: 'false' })),
  select('intermediate', 'Role', filters_.intermediate, [['', 'any'], ['true', 'intermediate'], ['false', 'leaf']]),
  h('button', { type: 'submit', class: 'secondary' }, 'Search'),
  can('POST /subordinates') ? h('a', { href: route('onboard'), class: 'button' }, 'Onboard a member') : null)
  main.append(filters)

  if (items.length === 0) {
    const filtered = Object.values(filters_).some(Boolean)
    main.append(h('p', { class: 'notice' }, after ? 'No more members.' : filtered ? 'No member matches.' : 'No members yet.'))
  } else {
    main.append(table(`Members${statusFilter ? ` (${statusFilter})` : ''}, ${pageNo * PAGE + 1}–${pageNo * PAGE + items.length}`,
      ['Entity id', 'Entity types', 'Intermediate', 'Trust marks', 'Status', 'Pending keys'],
      items.map((m) => [
        h('a', { href: route(`members/${encodeURIComponent(m.entity_id)}`), class: 'mono' }, m.entity_id),
        (m.entity_types ?? []).join(', '),
        m.intermediate ? below(m) : 'no',
        (m.trust_mark_types ?? []).join(', '),
        status(m.status),
        m.pending_keys ? status('pending') : '',
      ])))
  }
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages' })
  if (after) pager.append(h('a', { href: route('members', filters_) }, '⇤ First'))
  if (after && trail.length > 0) {
    const back = trail.slice(0, -1)
    pager.append(h('a', { href: route('members', { ...filters_, after: trail.at(-1) === '-' ? '' : trail.at(-1), trail: trailText(back), p: String(pageNo - 1) }), rel: 'prev' }, '← Previous'))
  }
  if (page.body.next) {
    pager.append(h('a', { href: route('members', { ...filters_, after: page.body.next, trail: trailText([...trail, after || '-']), p: String(pageNo + 1) }), rel: 'next' }, 'Next →'))
  }
  main.append(pager)
}

/**
 * An intermediate's cell: a button that opens, under its row, the entities known below it (the
 * tree's next level, from GET .../dependents, read only when asked).
 */
function below(m) {
  const button = h('button', { type: 'button', class: 'secondary', 'aria-expanded': 'false', onclick: async () => {
    const row = button.closest('tr')
    const open = row.nextElementSibling?.classList.contains('below')
    if (open) {
      row.nextElementSibling.remove()
      button.setAttribute('aria-expanded', 'false')
      return
    }
    button.setAttribute('aria-expanded', 'true')
    const cell = h('td', { colspan: '6' }, h('p', { class: 'loading' }, 'Loading…'))
    row.after(h('tr', { class: 'below' }, cell))
    try {
      const d = (await api('GET', `subordinates/${encodeURIComponent(m.entity_id)}/dependents`)).body
      const ids = d.below?.entity_ids ?? []
      cell.replaceChildren(ids.length === 0
        ? h('p', {}, 'No entity known below it (known: those with clients registered here through it).')
        : h('ul', { class: 'tree', 'aria-label': `Known below ${m.entity_id}` }, ids.map((id) => h('li', { class: 'mono' }, id)),
          d.below.entities > ids.length ? h('li', {}, `… ${d.below.entities - ids.length} more`) : null))
    } catch (err) {
      cell.replaceChildren(h('p', { class: 'failure-box' }, err.message))
    }
  } }, 'yes: show below')
  return button
}

function select(id, label, value, options) {
  return h('div', {}, h('label', { for: id }, label),
    h('select', { id }, options.map(([v, text]) => h('option', { value: v, selected: v === value }, text))))
}
