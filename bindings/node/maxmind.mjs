// `import maxmind from 'hotpath/maxmind'`, as `import maxmind from 'maxmind'`:
// the drop-in's default export, and its names one by one (lib/maxmind.js).
import maxmind from './lib/maxmind.js';

export default maxmind.default;
export const { open, openSync, init, validate, Reader } = maxmind;
