/**
 * Prints the field of view and model window of image files, one JSON object a line, as the runtime
 * finds them (src/core/field-of-view.ts): the training tool reads these so that it crops its
 * frames exactly as the segmenter will.
 *
 *   node --import tsx scripts/field-of-view.ts FILE... > boxes.ndjson
 */
import { detectFieldOfView, modelWindow } from '../src/core/field-of-view.js';
import { readImage } from '../src/core/image-io.js';
import { describeError } from '../src/errors.js';

const files = process.argv.slice(2);
if (files.length === 0 || files.includes('--help')) {
  console.error('usage: node --import tsx scripts/field-of-view.ts FILE...   (one JSON line per file on stdout)');
  process.exit(files.length === 0 ? 2 : 0);
}
let failed = 0;
for (const file of files) {
  try {
    const img = await readImage(file);
    const mw = modelWindow(detectFieldOfView(img), img.width, img.height);
    process.stdout.write(`${JSON.stringify({ file, ...mw })}\n`);
  } catch (err) {
    failed++;
    console.error(`field-of-view: ${file}: ${describeError(err)}`);
  }
}
process.exit(failed > 0 ? 1 : 0);
