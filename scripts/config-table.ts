/**
 * The README's Configuration table, printed from the descriptor table in
 * `src/config/settings.ts` (`npm run docs:config` writes it; `test/unit/config-table.test.ts`
 * fails when the README's copy differs).
 */
import { formatBytes, NAMED_VARIABLES, SETTINGS, type Setting, type SettingName } from '../src/config/settings.js';

/** The README section the table is written to (`scripts/marked-section.ts`). */
export const CONFIG_TABLE_SECTION = 'config-table';

const code = (text: string) => `\`${text}\``;

/** The Default cell. */
function shownDefault(setting: Setting): string {
  if (setting.shownDefault !== undefined) return setting.shownDefault;
  switch (setting.kind) {
    case 'integer':
      if (setting.default === undefined) return 'unset';
      return setting.unit === 'bytes' ? `${setting.default} (${formatBytes(setting.default)})` : String(setting.default);
    case 'ratio':
      return String(setting.default);
    case 'boolean':
      return setting.default === undefined ? 'unset' : String(setting.default);
    case 'list':
      return setting.default.length === 0 ? 'none' : code(setting.default.join(','));
    case 'string':
    case 'oneOf':
      return setting.default === undefined ? 'unset' : code(setting.default);
    default:
      return 'unset';
  }
}

/** The Accepted cell: what parses, from the kind and its bounds. */
function accepted(setting: Setting): string {
  switch (setting.kind) {
    case 'integer':
      if (setting.unit === 'bytes') return `${formatBytes(setting.min)} – ${formatBytes(setting.max)}`;
      return `${setting.min} – ${setting.max}${setting.unit === 'percent' ? ' (%)' : ''}`;
    case 'ratio':
      return '0 – 1 (a decimal: `0.25`)';
    case 'boolean':
      return '`true`, `false` (or `1`, `0`)';
    case 'string':
      return 'any text';
    case 'list':
      return setting.allowed ? `comma-separated, of ${setting.allowed.map(code).join(', ')}` : 'comma-separated';
    case 'oneOf':
      return setting.allowed.map(code).join(', ');
    case 'url':
    case 'baseUrl':
      return '`http://` or `https://` URL';
    case 'redisUrl':
      return '`redis://` or `rediss://` URL';
    case 'postgresUrl':
      return '`postgres://` or `postgresql://` URL';
    case 'secret':
      return `${setting.minLength}+ characters`;
  }
}

const row = (cells: readonly string[]) => `| ${cells.map((cell) => cell.replaceAll('|', '\\|')).join(' | ')} |`;

/** The text between the markers: a note that it is generated, and the table. */
export function renderConfigTable(): string {
  const lines = [
    '<!-- Generated from src/config/settings.ts by `npm run docs:config`: edit the settings there, then run it. -->',
    '',
    row(['Variable', 'Meaning', 'Default', 'Accepted']),
    '|---|---|---|---|',
  ];
  for (const [name, setting] of Object.entries(SETTINGS) as [SettingName, Setting][]) {
    lines.push(row([code(name), setting.description, shownDefault(setting), accepted(setting)]));
    for (const named of NAMED_VARIABLES.filter((variable) => variable.follows === name)) {
      lines.push(row([named.name, named.description, named.shownDefault, 'any text']));
    }
  }
  return `\n${lines.join('\n')}\n\n`;
}
