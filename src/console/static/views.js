// The console's views: route pattern, page title, navigation label (none: not in the menu)
// the admin route the operator's role must allow for it to be in the menu (`requires`),
// and the module rendering it. A new view is one line here and a module beside this one.
export const VIEWS = [
  { path: 'members', title: 'Members', nav: 'Members', load: () => import('./members.js') },
  { path: 'members/:id', title: 'Member', load: () => import('./member.js') },
  { path: 'onboard', title: 'Onboard a member', nav: 'Onboard', requires: 'POST /subordinates', load: () => import('./onboard.js') },
  { path: 'resolve', title: 'Resolve', nav: 'Resolve', load: () => import('./resolve.js') },
  { path: 'trust-marks', title: 'Trust marks', nav: 'Trust marks', requires: 'GET /trust-mark-types', load: () => import('./trustmarks.js') },
  { path: 'clients', title: 'Clients', nav: 'Clients', requires: 'GET /clients', load: () => import('./clients.js') },
  { path: 'keys', title: 'Keys', nav: 'Keys', requires: 'GET /keys', load: () => import('./keys.js') },
  { path: 'audit', title: 'Audit log', nav: 'Audit log', load: () => import('./audit.js') },
]
