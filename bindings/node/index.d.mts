// Types of `import ... from 'hotpath'` (index.mjs): index.d.ts's names, and
// the whole module as the default export.
import * as hotpath from './index.js';

export * from './index.js';
export default hotpath;
