// ESLint (flat config): typescript-eslint's recommended rules over the TypeScript sources, and the direction of
// dependency between the layers (munit-core <- server <- extension; webviews talk to the extension only by typed
// messages), checked with no-restricted-imports. `npm run lint` runs it; `npm test` runs that first.
//
// typescript-eslint (8.x: TypeScript >=4.8.4 <6.1.0) parses with the classic TypeScript API, which TypeScript 7 (the
// native compiler) no longer ships: package.json's `typescript` is therefore @typescript/typescript6 (that API, for
// the linter), and `tsc` (npm run typecheck) is TypeScript 7's, installed under the alias @typescript/native.
// @typescript/typescript6 brings TypeScript 6 as @typescript/old, whose bin is also `tsc`: npm links the first by
// path, @typescript/native (check: `npx tsc --version` says 7). typescript-eslint names the same alias as an optional
// peer for TypeScript 7.1's experimental backend, unused here (`npm ls` calls 7.0 "invalid" for it; harmless).
// The rules below need no type information: no parserOptions.project / projectService.
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

const SOURCES = ['munit-core', 'server', 'extension', 'webviews', 'test'].map((dir) => `${dir}/**/*.ts`);

// An import of <dir>/... from another top-level folder: relative, climbing up to the root, then into <dir>.
const into = (dirs) => `^(\\.\\./)+(${dirs.join('|')})(/|$)`;

export default defineConfig([
  globalIgnores(['**/node_modules/', 'dist/', 'out/', 'outputs/', 'test-results/', 'test/e2e/host/', 'munit-demo/', 'translations/', '.tmp/', '*.vsix']),

  {
    files: SOURCES,
    extends: [tseslint.configs.recommended],
    rules: {
      // Deliberate style: `_name` marks a parameter an override's signature needs but the body does not use (as tsc's
      // noUnusedParameters allows), and `{ dropped: _dropped, ...rest }` copies an object without some keys.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', ignoreRestSiblings: true }],
      // The bundles are CommonJS, and a synchronous require() of one of our own modules is how an optional engine is
      // loaded only when chosen (munit-core/onnx/engine-choice.ts: onnxruntime stays unloaded on tfjs) and how
      // ../package.json is read. Packages are still imported with `import`.
      '@typescript-eslint/no-require-imports': ['error', { allow: ['^\\.\\.?/'] }],
      // A `let` assigned once, late, and read by a closure made before that (server/main.ts's `writer`, which the
      // framing callbacks use while the connection is built) cannot become a `const` without a TDZ error.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  {
    // The protocol declares each request and notification LSP-style, as a namespace holding its method name and
    // typed RequestType/NotificationType (`P.StartTraining.type`), as vscode-languageserver-protocol does.
    files: ['server/protocol.ts'],
    rules: { '@typescript-eslint/no-namespace': 'off' },
  },

  // The layers. Each rule names the folders a layer must not reach into; type-only imports are allowed only where
  // said (they vanish from the bundle).
  {
    files: ['munit-core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: into(['server', 'extension', 'webviews']),
              message: 'munit-core is the model: it imports nothing from server/, extension/ or webviews/.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['server/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: into(['extension', 'webviews']),
              message: 'The server imports munit-core only, never extension/ or webviews/.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['webviews/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'vscode', message: 'Panels run in the browser: they talk to the extension by messages only.' }],
          patterns: [
            {
              // The messages' data types: server/protocol.ts, types only.
              regex: '^(\\.\\./)+server/protocol\\.js$',
              allowTypeImports: true,
              message:
                'Panels talk to the extension only by typed messages (webviews/protocol.ts): `import type` the data ' +
                'types from server/protocol.ts, import no code from it.',
            },
            {
              regex: '^(\\.\\./)+(?!server/protocol\\.js$)(server|munit-core|extension)(/|$)',
              message:
                'Panels talk to the extension only by typed messages (webviews/protocol.ts): nothing from server/, ' +
                'munit-core/ or extension/ but the types of server/protocol.ts.',
            },
            {
              regex: '^node:',
              message: 'Panels run in the browser: no Node modules, no file access.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['extension/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(@tensorflow/|onnxruntime-)',
              message: 'The extension host must not load tfjs or onnxruntime: the server computes (test/extension/bundle.test.ts).',
            },
            {
              // munit-core's tfjs-free modules the extension shares; the rest is not vetted, and most of it loads tfjs
              // or onnxruntime (directly or through its imports). Add a module here only if it and everything it
              // imports are tfjs-free: test/extension/bundle.test.ts checks the bundle.
              regex: '^(\\.\\./)+munit-core/(?!(backend-choices|run-folder|hyperparameters|config/[^/]+|onnx/engine-names)\\.js$)',
              allowTypeImports: true,
              message: 'The extension imports only the tfjs-free munit-core modules listed in eslint.config.mjs ' + '(types from anywhere).',
            },
          ],
        },
      ],
    },
  },
]);
