// The manifest users install is not the one we develop with: `npm pack` (and
// `npm publish`) run `prepack`, which keeps a copy of package.json and writes
// the shipped one: no scripts (a user's install must never run `prepare`, which
// needs Rust), no devDependencies, overrides or test settings. `postpack` puts
// the developer's manifest back.
//
//   node scripts/pack-manifest.mjs trim      (prepack)
//   node scripts/pack-manifest.mjs restore   (postpack)
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

const MANIFEST = 'package.json';
const KEPT = `${MANIFEST}.development`;

/** The fields a user's npm needs; everything else stays in the repository. */
const SHIPPED = [
  'name',
  'version',
  'description',
  'keywords',
  'homepage',
  'repository',
  'license',
  'main',
  'types',
  'exports',
  'files',
  'engines',
  'optionalDependencies',
];

const [mode] = process.argv.slice(2);
if (mode === 'trim') {
  if (existsSync(KEPT)) throw new Error(`${KEPT} exists: an earlier pack did not finish; restore it first`);
  const text = readFileSync(MANIFEST, 'utf8');
  const manifest = JSON.parse(text);
  const shipped = Object.fromEntries(SHIPPED.filter((field) => field in manifest).map((field) => [field, manifest[field]]));
  writeFileSync(KEPT, text);
  writeFileSync(MANIFEST, `${JSON.stringify(shipped, null, 2)}\n`);
} else if (mode === 'restore') {
  if (existsSync(KEPT)) renameSync(KEPT, MANIFEST);
} else {
  throw new Error('usage: node scripts/pack-manifest.mjs trim|restore');
}
