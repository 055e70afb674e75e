// Writes the job and event formats as JSON Schema files (npm run schemas, after tsc -b).
const { mkdirSync, readdirSync, rmSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { jsonSchemaFiles, jsonSchemaText } = require('../dist/json-schemas');

const directory = join(__dirname, '..', 'schema');
mkdirSync(directory, { recursive: true });
const files = jsonSchemaFiles();
// A schema no longer published must not linger.
for (const name of readdirSync(directory)) {
  if (name.endsWith('.schema.json') && !files.some((file) => file.fileName === name)) rmSync(join(directory, name));
}
for (const file of files) writeFileSync(join(directory, file.fileName), jsonSchemaText(file));
console.log(`wrote ${files.map((file) => join('packages/contracts/schema', file.fileName)).join(', ')}`);
