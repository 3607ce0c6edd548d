// Type-aware lint: floating promises are errors, switches are exhaustive, and the layout's
// boundaries hold (README "Layout"): core imports no driver and no adapter, no adapter imports
// another, and only src/sql tells databases apart by name.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const adapterKinds = ['postgres', 'mysql', 'mssql', 'oracle', 'polling', 'triggers'];
const drivers = [
  'pg',
  'pg-*',
  'mysql2',
  'mysql2/*',
  '@vlasky/zongji',
  'mssql',
  'tedious',
  'oracledb',
  'better-sqlite3',
  'knex',
  '@nats-io/*',
  'hono',
  'hono/*',
];

/** `x.dialect.name === …`, `dialect.name !== …` and the like: ask the dialect instead. */
const dialectNameTest = {
  selector:
    "BinaryExpression[operator=/^[!=]==?$/] > MemberExpression[property.name='name'][object.name='dialect'], BinaryExpression[operator=/^[!=]==?$/] > MemberExpression[property.name='name'][object.property.name='dialect'], SwitchStatement > MemberExpression.discriminant[property.name='name'][object.property.name='dialect'], SwitchStatement > MemberExpression.discriminant[property.name='name'][object.name='dialect']",
  message: 'Generic code never tests a dialect by name: add a member to SqlDialect (src/sql/sql-dialect.ts).',
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bin/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true, requireDefaultForNonUnion: false },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/restrict-template-expressions': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    files: ['src/**/*.ts', 'adapters/**/*.ts', 'migrations/**/*.ts'],
    ignores: ['src/sql/**'],
    rules: { 'no-restricted-syntax': ['error', dialectNameTest] },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: drivers, message: 'src/core imports nothing but zod and node built-ins.' },
            {
              group: ['../*', '!../core', '../../*'],
              message:
                'src/core imports nothing but zod, node built-ins and itself (no adapter, no src/sql, no src/nats).',
            },
          ],
        },
      ],
    },
  },
  ...adapterKinds.map((kind) => ({
    files: [`adapters/${kind}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: adapterKinds.filter((k) => k !== kind).map((k) => `../${k}/*`),
              message: 'Adapters never import each other: what two share lives in src/sql or src/core.',
            },
            {
              group: adapterKinds.filter((k) => k !== kind).map((k) => `../../adapters/${k}/*`),
              message: 'Adapters never import each other: what two share lives in src/sql or src/core.',
            },
          ],
        },
      ],
    },
  })),
  { files: ['**/*.js'], ...tseslint.configs.disableTypeChecked },
);
