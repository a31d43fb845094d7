// Unit specs live beside the code (src/, *.spec.ts); end-to-end specs in test/ (*.e2e-spec.ts).
// Some dependencies (bentocache and its helpers) ship only ES modules. Node 20 loads them with
// require(esm); jest's module loader does not, so SWC compiles every ESM-only package to CommonJS (and our TypeScript, with decorator
// metadata for Nest's injection; `npm run typecheck` does the type checking).
const fs = require('node:fs');
const path = require('node:path');
function esmOnlyPackages(dir = path.join(__dirname, 'node_modules')) {
  const found = [];
  for (const entry of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    if (entry.startsWith('.')) continue;
    if (entry.startsWith('@')) {
      found.push(...esmOnlyPackages(path.join(dir, entry)).map((name) => `${entry}/${name}`));
      continue;
    }
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, entry, 'package.json'), 'utf8'));
      if (pkg.type === 'module') found.push(entry);
    } catch {
      // not a package
    }
  }
  return found;
}
// CommonJS packages that import() an ESM-only one; jest's VM cannot run import() without
// --experimental-vm-modules, so SWC turns it into require() there too.
const dynamicImporters = ['mercurius'];
const esmOnly = [...esmOnlyPackages(), ...dynamicImporters].map((name) => name.replace(/[.]/g, '\\.'));
function swc(syntax) {
  return {
    jsc: {
      parser: syntax === 'typescript' ? { syntax, decorators: true } : { syntax, importAttributes: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
      keepClassNames: true,
    },
    module: { type: 'commonjs', ignoreDynamic: false },
    sourceMaps: 'inline',
  };
}

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/src', '<rootDir>/test', '<rootDir>/flex-plugin/src'],
  testMatch: ['**/*.spec.ts', '**/*.e2e-spec.ts'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', swc('typescript')],
    '^.+\\.m?js$': ['@swc/jest', swc('ecmascript')],
  },
  transformIgnorePatterns: [`/node_modules/(?!(${esmOnly.join('|')})/)`],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  setupFiles: ['reflect-metadata'],
  testTimeout: 30000,
};
