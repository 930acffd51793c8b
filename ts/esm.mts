/**
 * The ES module entry: the same classes as the CommonJS entry (one copy, no
 * dual-package hazard). Its default export is the whole namespace, so
 * `import pants from 'pants'` works like `const pants = require('pants')`.
 */
import * as pants from './index.js';

export * from './index.js';
export default pants;
