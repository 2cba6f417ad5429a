// The project's lint rules: typescript-eslint's recommended type-aware set plus a few strict
// rules that catch what matters for hostile input and async code; the console's browser
// scripts get JavaScript's core correctness rules. Run with `npm run lint`.
import tseslint from 'typescript-eslint'

// The browser globals the console's scripts may use (no bundler, no globals package: listed here).
const browser = Object.fromEntries(['window', 'document', 'location', 'history', 'navigator', 'fetch', 'Headers', 'Request', 'Response',
  'URL', 'URLSearchParams', 'FormData', 'Blob', 'File', 'FileReader', 'console', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval',
  'requestAnimationFrame', 'queueMicrotask', 'structuredClone', 'atob', 'btoa', 'TextEncoder', 'TextDecoder', 'crypto', 'performance',
  'Event', 'CustomEvent', 'KeyboardEvent', 'MouseEvent', 'AbortController', 'Node', 'Element', 'HTMLElement', 'HTMLInputElement',
  'HTMLFormElement', 'HTMLDialogElement', 'HTMLSelectElement', 'HTMLTextAreaElement', 'HTMLButtonElement', 'HTMLAnchorElement',
  'DocumentFragment', 'MutationObserver', 'IntersectionObserver', 'sessionStorage', 'localStorage', 'getComputedStyle', 'Intl'].map((g) => [g, 'readonly']))

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'federation/**', 'test/artifacts/**', 'bin/**'] },
  {
    files: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: process.cwd() } },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // Every promise is awaited, returned or explicitly voided: a lost rejection is a lost error.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false, attributes: false } }],
      // Wire data is typed after validation, never `any`.
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      // An async function that implements an async contract need not await anything.
      '@typescript-eslint/require-await': 'off',
      'no-prototype-builtins': 'error',
      eqeqeq: ['error', 'always'],
    },
  },
  {
    // The operator console's browser scripts (plain ES modules, served as they are): JavaScript's
    // recommended rules, strict equality, no prototype builtins on outside data.
    files: ['src/console/static/**/*.js'],
    languageOptions: { sourceType: 'module', ecmaVersion: 2022, globals: browser },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      'no-undef': 'error', 'no-unused-vars': 'error', 'no-unreachable': 'error', 'no-dupe-keys': 'error', 'no-dupe-args': 'error',
      'no-redeclare': 'error', 'no-const-assign': 'error', 'no-self-assign': 'error', 'no-fallthrough': 'error', 'no-empty': 'error',
      'no-func-assign': 'error', 'no-import-assign': 'error', 'no-unsafe-finally': 'error', 'no-unsafe-negation': 'error',
      'no-cond-assign': 'error', 'no-constant-condition': 'error', 'use-isnan': 'error', 'valid-typeof': 'error', 'require-yield': 'error',
      'no-async-promise-executor': 'error', 'no-eval': 'error', 'no-implied-eval': 'error', 'no-new-func': 'error',
      'no-prototype-builtins': 'error', eqeqeq: ['error', 'always'],
    },
  },
  {
    // Tests decode JWTs and JSON answers they then assert on; `any` there is the assertion's input.
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
)
