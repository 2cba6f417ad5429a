/**
 * `anchorage completion bash|zsh`: a completion script for the shell, made from the command
 * table (main.ts: commands and their actions) and each command's own --help (its options, and
 * which of them take a FILE or a DIR), so it never lists an option the command does not have.
 */
import { UsageError, type IO } from './args.js'
import { COMMANDS } from './main.js'

export const COMPLETION_HELP = `Usage: anchorage completion <bash|zsh>

Prints a completion script for commands, actions, options, and files or directories where an
option takes one.

  bash   eval "$(anchorage completion bash)" in ~/.bashrc, or
         anchorage completion bash > ~/.local/share/bash-completion/completions/anchorage
  zsh    anchorage completion zsh > "\${fpath[1]}/_anchorage" (then a new shell), or
         source <(anchorage completion zsh) in ~/.zshrc after compinit`

export interface CommandWords {
  name: string
  actions: readonly string[]
  options: string[]
}

export interface Words {
  commands: CommandWords[]
  /** Options whose value is a file, or a directory (as the help texts write them). */
  fileOptions: string[]
  dirOptions: string[]
}

/** Every command's actions and options, from the table and from its --help. */
export async function completionWords(): Promise<Words> {
  const commands: CommandWords[] = []
  const files = new Set<string>()
  const dirs = new Set<string>()
  for (const [name, c] of COMMANDS) {
    let help = ''
    if (name !== 'completion') {
      const io: IO = { stdout: (s) => (help += s + '\n'), stderr: () => undefined, readFile: () => Promise.reject(new Error('no input')), env: {} }
      await c.run(['--help'], io)
    } else {
      help = COMPLETION_HELP
    }
    const options = new Set<string>(['--help'])
    for (const m of help.matchAll(/(?<![\w-])--([a-z][a-z0-9-]*)(?:[ =](FILE|DIR)\b)?/g)) {
      options.add(`--${m[1]!}`)
      if (m[2] === 'FILE') files.add(`--${m[1]!}`)
      if (m[2] === 'DIR') dirs.add(`--${m[1]!}`)
    }
    commands.push({ name, actions: c.actions ?? [], options: [...options].sort() })
  }
  return { commands, fileOptions: [...files].sort(), dirOptions: [...dirs].sort() }
}

export async function completionCommand(argv: string[], io: IO): Promise<number> {
  const [shell] = argv
  if (!shell || shell === '--help' || shell === '-h') {
    io.stdout(COMPLETION_HELP)
    return shell ? 0 : 2
  }
  if (argv.length > 1) throw new UsageError(`completion ${shell}: unexpected ${argv[1]}`)
  const words = await completionWords()
  io.stdout(shell === 'bash' ? bashScript(words) : zshScript(words))
  return 0
}

/** Words are the package's own (command, action and option names): [a-z0-9-] only, nothing to quote. */
const list = (words: readonly string[]) => words.join(' ')

export function bashScript(w: Words): string {
  const cases = w.commands.map((c) => `    ${c.name}) actions="${list(c.actions)}"; options="${list(c.options)}" ;;`).join('\n')
  return `# bash completion for anchorage (anchorage completion bash)
_anchorage() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}"
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "${list(w.commands.map((c) => c.name))} --help --version" -- "$cur"))
    return 0
  fi
  case "$prev" in
    ${w.dirOptions.join('|') || '--dir'}) COMPREPLY=($(compgen -d -- "$cur")); return 0 ;;
    ${w.fileOptions.join('|') || '--file'}) COMPREPLY=($(compgen -f -- "$cur")); return 0 ;;
  esac
  local actions="" options=""
  case "\${COMP_WORDS[1]}" in
${cases}
  esac
  if [ "$COMP_CWORD" -eq 2 ] && [ -n "$actions" ] && [[ "$cur" != -* ]]; then
    COMPREPLY=($(compgen -W "$actions" -- "$cur"))
  elif [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$options" -- "$cur"))
  fi
  return 0
}
complete -o bashdefault -o default -F _anchorage anchorage
`
}

export function zshScript(w: Words): string {
  const cases = w.commands.map((c) => `    ${c.name}) actions=(${list(c.actions)}); options=(${list(c.options)}) ;;`).join('\n')
  return `#compdef anchorage
# zsh completion for anchorage (anchorage completion zsh)
_anchorage() {
  local -a actions options
  if (( CURRENT == 2 )); then
    compadd -- ${list(w.commands.map((c) => c.name))} --help --version
    return
  fi
  case "\${words[CURRENT-1]}" in
    ${w.dirOptions.join('|') || '--dir'}) _files -/; return ;;
    ${w.fileOptions.join('|') || '--file'}) _files; return ;;
  esac
  case "\${words[2]}" in
${cases}
  esac
  if (( CURRENT == 3 )) && (( \${#actions} )) && [[ "\${words[CURRENT]}" != -* ]]; then
    compadd -a actions
  elif [[ "\${words[CURRENT]}" == -* ]]; then
    compadd -a options
  else
    _files
  fi
}
if [ "\${funcstack[1]}" = "_anchorage" ]; then
  _anchorage "$@"
else
  compdef _anchorage anchorage
fi
`
}
