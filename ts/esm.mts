/**
 * The ES module entry: the same classes as the CommonJS entry (one copy, no
 * dual-package hazard). Its default export is the whole namespace, so
 * `import pants from 'pants-net'` works like `const pants = require('pants-net')`.
 */
import * as pants from './index.js';

export * from './index.js';
export default pants;
