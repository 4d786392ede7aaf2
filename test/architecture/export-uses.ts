import { readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';

/** One exported name of a module and the other files that use it (an import, a re-export, `import()` then a property). */
export interface ExportUse {
  /** Path relative to the repository root, with forward slashes. */
  file: string;
  name: string;
  /** Files other than `file` that use it, relative to the root. */
  usedBy: Set<string>;
  /** Whether its own file uses it beyond declaring and exporting it (un-export it, or delete it). */
  usedInFile: boolean;
}

/** The name in a declaration or an export list, which is not a use. */
function namesDeclaration(node: ts.Identifier): boolean {
  const parent = node.parent;
  if (ts.isExportSpecifier(parent)) return true;
  return (ts.isFunctionDeclaration(parent) || ts.isClassDeclaration(parent) || ts.isInterfaceDeclaration(parent) || ts.isTypeAliasDeclaration(parent) ||
    ts.isEnumDeclaration(parent) || ts.isVariableDeclaration(parent) || ts.isModuleDeclaration(parent)) && parent.name === node;
}

function tsFiles(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true, recursive: true })
      .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
      .map((e) => join(e.parentPath, e.name));
  } catch {
    return []; // a folder this checkout lacks
  }
}

/**
 * Every export of the .ts files under `checked` (folders relative to `root`), with the files under
 * `users` (checked ones included) that use it. Resolved by the type checker, so `import * as ns` then
 * `ns.x`, `const { x } = await import('./m.js')`, `import('./m.js').X` in a type and chains of
 * re-exports all count, as a reader would count them.
 */
export function exportUses(root: string, checked: string[], users: string[]): ExportUse[] {
  const rel = (file: string) => relative(root, file).split('\\').join('/');
  const checkedFiles = checked.flatMap((dir) => tsFiles(join(root, dir)));
  const allFiles = [...new Set([...checkedFiles, ...users.flatMap((dir) => tsFiles(join(root, dir)))])];
  const program = ts.createProgram(allFiles, {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    skipLibCheck: true,
    resolveJsonModule: true,
    declaration: true,
    emitDeclarationOnly: true,
    types: ['node'],
  });
  const checker = program.getTypeChecker();

  // Export symbol → its record; a local `export { f }` is also found through f itself, since a property of
  // an `import()` result may come back as either.
  const bySymbol = new Map<ts.Symbol, ExportUse>();
  const uses: ExportUse[] = [];
  for (const path of checkedFiles) {
    const source = program.getSourceFile(path);
    const moduleSymbol = source && checker.getSymbolAtLocation(source);
    if (!moduleSymbol) continue; // a script with no import or export
    for (const symbol of checker.getExportsOfModule(moduleSymbol)) {
      // `export * from './m.js'` lends m's own symbols (and m's re-exports): they are m's, used wherever a name resolves to them.
      if (!symbol.declarations?.some((d) => d.getSourceFile() === source)) continue;
      const isAlias = (symbol.flags & ts.SymbolFlags.Alias) !== 0;
      const use: ExportUse = { file: rel(path), name: symbol.name, usedBy: new Set(), usedInFile: false };
      uses.push(use);
      bySymbol.set(symbol, use);
      if (isAlias) {
        const target = checker.getAliasedSymbol(symbol);
        const declaredHere = target.declarations?.some((d) => d.getSourceFile() === source);
        if (declaredHere && !bySymbol.has(target)) bySymbol.set(target, use);
      }
    }
  }

  const mark = (symbol: ts.Symbol | undefined, user: string, at?: ts.Identifier) => {
    // Walk the alias chain (local import → re-export → declaration), marking every export on the way.
    for (let s = symbol, hops = 0; s && hops < 20; hops++) {
      const use = bySymbol.get(s);
      if (use && use.file !== user) use.usedBy.add(user);
      else if (use && !(at && namesDeclaration(at))) use.usedInFile = true;
      if (!(s.flags & ts.SymbolFlags.Alias)) break;
      const next = checker.getImmediateAliasedSymbol(s);
      if (next === s) break;
      s = next;
    }
  };

  const names = new Set(uses.map((u) => u.name));
  const importers = new Map<string, Set<string>>(); // module path → paths of the files that import it
  for (const path of allFiles) {
    const source = program.getSourceFile(path);
    if (!source) continue;
    const user = rel(path);
    const visit = (node: ts.Node): void => {
      if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
        const target = checker.getSymbolAtLocation(node.moduleSpecifier)?.valueDeclaration?.getSourceFile().fileName;
        if (target) (importers.get(target) ?? importers.set(target, new Set()).get(target)!).add(path);
      }
      if (ts.isIdentifier(node) && (names.has(node.text) || ts.isImportClause(node.parent))) {
        mark(checker.getSymbolAtLocation(node), user, node);
        // `const { x } = await import(…)`: the binding's symbol is the local; the property is the export.
        const parent = node.parent;
        if (ts.isBindingElement(parent) && (parent.propertyName ?? parent.name) === node && ts.isObjectBindingPattern(parent.parent)) {
          mark(checker.getTypeAtLocation(parent.parent).getProperty(node.text), user, node);
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  // A type that another module's declarations name without importing it (an inferred `ToolDefinition<…>`)
  // must stay exported, or the build's .d.ts emit fails (TS4023): an emitted `import("./m.js").Name` is a use.
  // Emitting every file is slow, so only the direct importers of a module with an unused export are emitted.
  const byFileName = new Map(uses.map((u) => [`${u.file}\0${u.name}`, u]));
  const unusedIn = new Set(uses.filter((u) => u.usedBy.size === 0).map((u) => join(root, u.file)));
  const toEmit = new Set([...unusedIn].flatMap((file) => [...(importers.get(file) ?? [])]).filter((file) => checkedFiles.includes(file)));
  for (const path of toEmit) {
    program.emit(program.getSourceFile(path), (_name, text) => {
      for (const [, specifier, name] of text.matchAll(/import\("(\.[^"]+)"\)\.([\w$]+)/g)) {
        const use = byFileName.get(`${rel(join(dirname(path), specifier.replace(/\.js$/, '.ts')))}\0${name}`);
        if (use && use.file !== rel(path)) use.usedBy.add(rel(path));
      }
    }, undefined, true);
  }
  return uses;
}
