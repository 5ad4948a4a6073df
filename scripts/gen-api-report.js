// Generate api/exports.txt, the record of the public API: every name src/index.ts exports,
// with its kind, sorted. A change to the public API shows up as a change to this file in
// review. `node scripts/gen-api-report.js --check` exits 1 when the file is out of date.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { writeOrCheck } from './write-or-check.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'src', 'index.ts');

/** The kind of an exported symbol, as the report names it. */
function kindOf(symbol) {
  const f = symbol.flags;
  if (f & ts.SymbolFlags.Class) return 'class';
  if (f & ts.SymbolFlags.Function) return 'function';
  if (f & ts.SymbolFlags.Interface) return 'interface';
  if (f & ts.SymbolFlags.TypeAlias) return 'type';
  if (f & ts.SymbolFlags.Enum) return 'enum';
  if (f & ts.SymbolFlags.Variable) {
    const decl = symbol.valueDeclaration;
    const list = decl && ts.isVariableDeclaration(decl) ? decl.parent : undefined;
    return list && list.flags & ts.NodeFlags.Const ? 'const' : 'let';
  }
  return 'other';
}

/** The public API as `name kind` lines, sorted by name. */
export function apiReport() {
  const program = ts.createProgram([entry], {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    skipLibCheck: true,
    noEmit: true,
    types: ['node'],
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(entry);
  const module = source && checker.getSymbolAtLocation(source);
  if (!module) throw new Error('src/index.ts has no exports');
  const rows = checker.getExportsOfModule(module).map((s) => {
    const target = s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s;
    return `${s.getName()} ${kindOf(target)}`;
  });
  rows.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return `${rows.join('\n')}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeOrCheck(join(root, 'api', 'exports.txt'), apiReport(), 'node scripts/gen-api-report.js');
}
