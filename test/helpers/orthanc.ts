/** The tests' PACS: an Orthanc of their own (src/bench/orthanc-process.ts, shared with the benchmark). */
export { OrthancProcess as TestOrthanc, freePort, orthancSkip, storescu } from '../../src/bench/orthanc-process.js';
export type { OrthancOptions } from '../../src/bench/orthanc-process.js';
